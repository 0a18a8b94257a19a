// A complete Open Payments payment driven by the official client against the sandbox wallet.
// env: SENDER, RECEIVER (wallet address URLs), CLIENT_WALLET, KEY_ID, KEY_PATH,
//      AMOUNT (receiver minor units), MODE=finish|poll
// stdout: one JSON object per line ({event: ...}); the test reads them.
//  - {event: "interact", redirect, finishUrl?}: the test approves in a browser. With MODE=finish
//    the browser lands on this script's own finish server, which checks the hash.
//  - {event: "done", ...everything the test checks}
//  - {event: "error", message, status?, code?}
import { createServer } from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import { createAuthenticatedClient, isPendingGrant } from '@interledger/open-payments'

const env = process.env
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function expectFailure(promise) {
  try {
    await promise
    return { ok: true }
  } catch (error) {
    return { ok: false, status: error.status, code: error.code, description: error.description }
  }
}

function finishServer() {
  // Resolves with the query the wallet sent the browser back with.
  let resolveFinish
  const finished = new Promise((resolve) => (resolveFinish = resolve))
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<html><body><h1 id="finished">Back at the client app</h1></body></html>')
    resolveFinish(Object.fromEntries(url.searchParams))
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, finished, port: server.address().port }))
  )
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
  const keys = await client.walletAddress.getKeys({ url: env.CLIENT_WALLET })

  // 1. Incoming payment at the receiver (non-interactive grant).
  const incomingGrant = await client.grant.request(
    { url: receiver.authServer },
    {
      access_token: {
        access: [
          {
            type: 'incoming-payment',
            actions: ['create', 'read', 'list', 'complete'],
            identifier: receiver.id
          }
        ]
      }
    }
  )
  const incomingToken = incomingGrant.access_token.value
  const incoming = await client.incomingPayment.create(
    { url: receiver.resourceServer, accessToken: incomingToken },
    {
      walletAddress: receiver.id,
      incomingAmount: {
        value: env.AMOUNT,
        assetCode: receiver.assetCode,
        assetScale: receiver.assetScale
      },
      metadata: { description: 'Tacos 🌮 for Bob' }
    }
  )
  const listed = await client.incomingPayment.list(
    { url: receiver.resourceServer, walletAddress: receiver.id, accessToken: incomingToken },
    { first: 10 }
  )

  // 2. Quote at the sender (non-interactive grant), fixed by the incoming payment's amount.
  const quoteGrant = await client.grant.request(
    { url: sender.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } }
  )
  const quote = await client.quote.create(
    { url: sender.resourceServer, accessToken: quoteGrant.access_token.value },
    { walletAddress: sender.id, receiver: incoming.id, method: 'ilp' }
  )
  const quoteAgain = await client.quote.get({
    url: quote.id,
    accessToken: quoteGrant.access_token.value
  })

  // 3. Interactive outgoing-payment grant limited to the quote's debit amount.
  const finish = env.MODE === 'finish' ? await finishServer() : null
  const clientNonce = randomUUID()
  const interact = { start: ['redirect'] }
  if (finish) {
    interact.finish = {
      method: 'redirect',
      uri: `http://127.0.0.1:${finish.port}/finish`,
      nonce: clientNonce
    }
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
            limits: { debitAmount: quote.debitAmount, receiver: incoming.id }
          }
        ]
      },
      interact
    }
  )
  if (!isPendingGrant(pending)) throw new Error('outgoing-payment grant should be interactive')
  const grantedAt = Date.now()
  const waitMs = (pending.continue.wait ?? 0) * 1000
  emit({ event: 'interact', redirect: pending.interact.redirect, finish: Boolean(finish) })

  let granted
  const continueArgs = {
    url: pending.continue.uri,
    accessToken: pending.continue.access_token.value
  }
  let finishQuery = null
  let hashOk = null
  const polls = []
  if (finish) {
    finishQuery = await finish.finished
    finish.server.close()
    const data = `${clientNonce}\n${pending.interact.finish}\n${finishQuery.interact_ref}\n${sender.authServer}`
    const expected = createHash('sha256').update(data).digest('base64')
    hashOk = expected === finishQuery.hash
    await sleep(Math.max(0, grantedAt + waitMs - Date.now()) + 100)
    granted = await client.grant.continue(continueArgs, { interact_ref: finishQuery.interact_ref })
  } else {
    // Poll: too fast first, then pending answers until the user approves.
    polls.push(await expectFailure(client.grant.continue(continueArgs)))
    for (let i = 0; i < 60 && !granted; i++) {
      await sleep(waitMs + 100)
      const answer = await client.grant.continue(continueArgs)
      if (answer.access_token) granted = answer
      else polls.push({ ok: true, pending: true, wait: answer.continue.wait })
    }
  }
  if (!granted) throw new Error('grant never approved')
  // The access token is handed out once: continuing again is refused.
  await sleep(waitMs + 100)
  const again = await expectFailure(
    finish
      ? client.grant.continue(continueArgs, { interact_ref: finishQuery.interact_ref })
      : client.grant.continue(continueArgs)
  )

  // 4. The outgoing payment, then wait for settlement at the receiver.
  const outgoingToken = granted.access_token.value
  const outgoing = await client.outgoingPayment.create(
    { url: sender.resourceServer, accessToken: outgoingToken },
    { walletAddress: sender.id, quoteId: quote.id, metadata: { description: 'Tacos' } }
  )
  let incomingNow = null
  for (let i = 0; i < 100; i++) {
    incomingNow = await client.incomingPayment.get({ url: incoming.id, accessToken: incomingToken })
    if (incomingNow.completed) break
    await sleep(100)
  }
  const outgoingNow = await client.outgoingPayment.get({
    url: outgoing.id,
    accessToken: outgoingToken
  })
  const outgoingList = await client.outgoingPayment.list(
    { url: sender.resourceServer, walletAddress: sender.id, accessToken: outgoingToken },
    { first: 5 }
  )
  const spent = await client.outgoingPayment.getGrantSpentAmounts({
    url: sender.resourceServer,
    accessToken: outgoingToken
  })
  const publicIncoming = await client.incomingPayment.getPublic({ url: incoming.id })

  // 5. Token management: rotate (old token inactive), then revoke; cancel the grant.
  const rotated = await client.token.rotate({
    url: granted.access_token.manage,
    accessToken: outgoingToken
  })
  const oldTokenUse = await expectFailure(
    client.outgoingPayment.get({ url: outgoing.id, accessToken: outgoingToken })
  )
  const newTokenUse = await expectFailure(
    client.outgoingPayment.get({ url: outgoing.id, accessToken: rotated.access_token.value })
  )
  await client.token.revoke({
    url: rotated.access_token.manage,
    accessToken: rotated.access_token.value
  })
  const revokedTokenUse = await expectFailure(
    client.outgoingPayment.get({ url: outgoing.id, accessToken: rotated.access_token.value })
  )
  await client.grant.cancel({
    url: incomingGrant.continue.uri,
    accessToken: incomingGrant.continue.access_token.value
  })
  const afterCancel = await expectFailure(
    client.incomingPayment.get({ url: incoming.id, accessToken: incomingToken })
  )

  emit({
    event: 'done',
    keys,
    sender,
    receiver,
    incoming,
    listed,
    quote,
    quoteAgain,
    interactFinish: pending.interact.finish,
    finishQuery,
    hashOk,
    polls,
    granted,
    again,
    outgoing,
    outgoingNow,
    outgoingList,
    incomingNow,
    spent,
    publicIncoming,
    rotated,
    oldTokenUse,
    newTokenUse,
    revokedTokenUse,
    afterCancel
  })
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
