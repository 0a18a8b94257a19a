// Signing cost of the official utils: createHeaders over the same request N times.
// argv: <private key PEM path> <key id> <iterations>; stdin: {method, url, headers, body}
// stdout: {"perRequestUs": <median wall µs of 5 batches>, "cpuPerRequestUs": <median CPU µs>}
// CPU is process.cpuUsage (user + system, every thread of the process).
import { readFileSync } from 'node:fs'
import { createPrivateKey } from 'node:crypto'
import { createHeaders } from '@interledger/http-signature-utils'

const [pemPath, keyId, iterationsText] = process.argv.slice(2)
const iterations = Number(iterationsText)
const privateKey = createPrivateKey(readFileSync(pemPath))
const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'))

for (let i = 0; i < Math.min(200, iterations); i++) await createHeaders({ request, privateKey, keyId })
const walls = []
const cpus = []
for (let b = 0; b < 5; b++) {
  const started = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  for (let i = 0; i < iterations; i++) await createHeaders({ request, privateKey, keyId })
  const used = process.cpuUsage(cpu)
  walls.push(Number(process.hrtime.bigint() - started) / 1000 / iterations)
  cpus.push((used.user + used.system) / iterations)
}
walls.sort((a, b) => a - b)
cpus.sort((a, b) => a - b)
process.stdout.write(JSON.stringify({ perRequestUs: walls[2], cpuPerRequestUs: cpus[2] }))
