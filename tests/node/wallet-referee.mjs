// Rafiki's own verdict on signed requests, for comparison with the sandbox wallet's.
// stdin: JSON array of {method, url, headers: {lower-case name: value}, body?: string, jwk}
// stdout: JSON array of booleans (true = Rafiki would accept the signature)
// Like Rafiki's contextToRequestLike, the body is re-serialized before the digest check.
import { validateSignature, validateSignatureHeaders } from '@interledger/http-signature-utils'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const verdicts = []
for (const r of requests) {
  let body
  try {
    body = r.body ? JSON.stringify(JSON.parse(r.body)) : undefined
  } catch {
    verdicts.push(false)
    continue
  }
  const request = { method: r.method, url: r.url, headers: r.headers, body }
  try {
    verdicts.push(validateSignatureHeaders(request) && (await validateSignature(r.jwk, request)))
  } catch {
    verdicts.push(false)
  }
}
process.stdout.write(JSON.stringify(verdicts))
