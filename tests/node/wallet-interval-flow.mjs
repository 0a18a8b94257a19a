// An allowance per interval, driven by the official client against the sandbox wallet: one
// interactive outgoing-payment grant with limits {debitAmount, interval}, then several payments.
// env: SENDER, RECEIVER, CLIENT_WALLET, KEY_ID, KEY_PATH, AMOUNT (receiver minor units, each
//      payment), LIMIT (sender minor units per interval), INTERVAL, PAYMENTS (how many to try)
// stdout: one JSON object per line — {event: "interact", redirect}, then {event: "done", ...}
//         or {event: "error", ...}.
import { createAuthenticatedClient, isPendingGrant } from '@interledger/open-payments'

const env = process.env
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function attempt(promise) {
  try {
    return { ok: true, value: await promise }
  } catch (error) {
    return { ok: false, status: error.status, code: error.code, description: error.description }
  }
}

async function main() {
  const client = await createAuthenticatedClient({
    walletAddressUrl: env.CLIENT_WALLET,
    keyId: env.KEY_ID,
    privateKey: env.KEY_PATH,
    useHttp: true,
    validateResponses: true
  })
  const sender = await client.walletAddress.get({ url: env.SENDER })
  const receiver = await client.walletAddress.get({ url: env.RECEIVER })

  const limits = {
    debitAmount: { value: env.LIMIT, assetCode: sender.assetCode, assetScale: sender.assetScale },
    interval: env.INTERVAL
  }
  const pending = await client.grant.request(
    { url: sender.authServer },
    {
      access_token: {
        access: [
          {
            type: 'outgoing-payment',
            actions: ['create', 'read', 'list'],
            identifier: sender.id,
            limits
          }
        ]
      },
      interact: { start: ['redirect'] }
    }
  )
  if (!isPendingGrant(pending)) throw new Error('outgoing-payment grant should be interactive')
  emit({ event: 'interact', redirect: pending.interact.redirect })
  const continueArgs = { url: pending.continue.uri, accessToken: pending.continue.access_token.value }
  let granted
  for (let i = 0; i < 60 && !granted; i++) {
    await sleep((pending.continue.wait ?? 1) * 1000 + 100)
    const answer = await client.grant.continue(continueArgs)
    if (answer.access_token) granted = answer
  }
  if (!granted) throw new Error('grant never approved')
  const token = granted.access_token.value

  const incomingGrant = await client.grant.request(
    { url: receiver.authServer },
    {
      access_token: {
        access: [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: receiver.id }]
      }
    }
  )
  const quoteGrant = await client.grant.request(
    { url: sender.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } }
  )
  const spentBefore = await client.outgoingPayment.getGrantSpentAmounts({
    url: sender.resourceServer,
    accessToken: token
  })
  const payments = []
  for (let i = 0; i < Number(env.PAYMENTS); i++) {
    const incoming = await client.incomingPayment.create(
      { url: receiver.resourceServer, accessToken: incomingGrant.access_token.value },
      {
        walletAddress: receiver.id,
        incomingAmount: {
          value: env.AMOUNT,
          assetCode: receiver.assetCode,
          assetScale: receiver.assetScale
        },
        metadata: { description: `Weekly ${i + 1}` }
      }
    )
    const quote = await client.quote.create(
      { url: sender.resourceServer, accessToken: quoteGrant.access_token.value },
      { walletAddress: sender.id, receiver: incoming.id, method: 'ilp' }
    )
    payments.push({
      quote,
      outgoing: await attempt(
        client.outgoingPayment.create(
          { url: sender.resourceServer, accessToken: token },
          { walletAddress: sender.id, quoteId: quote.id }
        )
      )
    })
  }
  const spent = await client.outgoingPayment.getGrantSpentAmounts({
    url: sender.resourceServer,
    accessToken: token
  })
  const listed = await client.outgoingPayment.list(
    { url: sender.resourceServer, walletAddress: sender.id, accessToken: token },
    { first: 10 }
  )
  emit({ event: 'done', limits, granted, spentBefore, payments, spent, listed })
}

main().catch((error) => {
  emit({
    event: 'error',
    message: String(error?.message ?? error),
    description: error?.description,
    status: error?.status,
    code: error?.code,
    validationErrors: error?.validationErrors
  })
  process.exit(1)
})
