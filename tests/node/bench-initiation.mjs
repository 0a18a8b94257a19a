// Baseline for bench/op_initiation.py: the official Node client initiating a payment the way
// its documentation does, one step after another (7 round trips):
// sender wallet, receiver wallet, incoming-payment grant, incoming payment, quote grant, quote,
// outgoing-payment grant. Each iteration's grant is cancelled afterwards (outside the timing).
// usage: node bench-initiation.mjs <platformWalletUrl> <keyId> <keyPath> <sender> <receiver> <value> [validate]
// Then one initiation per line read on stdin; one line written per initiation: {"ms": <number>}
// (line by line, so the caller can interleave runs with its own under the same machine load).
import { createInterface } from 'node:readline'
import { createAuthenticatedClient, isPendingGrant } from '@interledger/open-payments'

const [walletAddressUrl, keyId, privateKey, senderUrl, receiverUrl, value, validate] =
  process.argv.slice(2)
const client = await createAuthenticatedClient({
  walletAddressUrl,
  keyId,
  privateKey,
  validateResponses: validate === 'validate',
  logLevel: 'silent'
})

async function initiate() {
  const sender = await client.walletAddress.get({ url: senderUrl })
  const receiver = await client.walletAddress.get({ url: receiverUrl })
  const incomingGrant = await client.grant.request(
    { url: receiver.authServer },
    {
      access_token: {
        access: [{ type: 'incoming-payment', actions: ['create', 'read', 'complete'], identifier: receiver.id }]
      }
    }
  )
  const incoming = await client.incomingPayment.create(
    { url: receiver.resourceServer, accessToken: incomingGrant.access_token.value },
    { walletAddress: receiver.id, expiresAt: new Date(Date.now() + 3600_000).toISOString() }
  )
  const quoteGrant = await client.grant.request(
    { url: sender.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } }
  )
  const quote = await client.quote.create(
    { url: sender.resourceServer, accessToken: quoteGrant.access_token.value },
    {
      walletAddress: sender.id,
      receiver: incoming.id,
      method: 'ilp',
      debitAmount: { value, assetCode: sender.assetCode, assetScale: sender.assetScale }
    }
  )
  const outgoingGrant = await client.grant.request(
    { url: sender.authServer },
    {
      access_token: {
        access: [
          {
            type: 'outgoing-payment',
            actions: ['create', 'read'],
            identifier: sender.id,
            limits: { receiver: incoming.id, debitAmount: quote.debitAmount }
          }
        ]
      },
      interact: { start: ['redirect'] }
    }
  )
  if (!isPendingGrant(outgoingGrant)) throw new Error('expected an interactive grant')
  return outgoingGrant
}

for await (const _line of createInterface({ input: process.stdin })) {
  const started = performance.now()
  const grant = await initiate()
  const ms = performance.now() - started
  await client.grant.cancel({ url: grant.continue.uri, accessToken: grant.continue.access_token.value })
  process.stdout.write(JSON.stringify({ ms }) + '\n')
}
