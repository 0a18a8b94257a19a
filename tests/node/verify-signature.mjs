// Independent referee: verifies Python-signed requests with the official Interledger utils.
// stdin: JSON array of {method, url, headers: {lower-case name: value}, body?: string, jwk}
// stdout: JSON array of {headersValid, signatureValid, canonicalBody: boolean, error?: string}
import { validateSignature, validateSignatureHeaders } from '@interledger/http-signature-utils'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const results = []
for (const r of requests) {
  const request = { method: r.method, url: r.url, headers: r.headers, body: r.body ?? undefined }
  try {
    const headersValid = validateSignatureHeaders(request)
    const signatureValid = await validateSignature(r.jwk, request)
    // The body must already be what Rafiki digests: JSON.stringify(JSON.parse(body)).
    const canonicalBody = r.body == null || JSON.stringify(JSON.parse(r.body)) === r.body
    results.push({ headersValid, signatureValid, canonicalBody })
  } catch (error) {
    results.push({ headersValid: false, signatureValid: false, error: String(error) })
  }
}
process.stdout.write(JSON.stringify(results))
