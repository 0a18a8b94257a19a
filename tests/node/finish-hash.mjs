// Independent finish-hash vectors computed with Node's crypto (as Rafiki's auth server does).
// stdin: JSON array of {clientNonce, asNonce, interactRef, grantEndpoint}; stdout: JSON array of hashes.
import { createHash } from 'node:crypto'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const hashes = cases.map(({ clientNonce, asNonce, interactRef, grantEndpoint }) =>
  createHash('sha256')
    .update(`${clientNonce}\n${asNonce}\n${interactRef}\n${grantEndpoint}`)
    .digest('base64')
)
process.stdout.write(JSON.stringify(hashes))
