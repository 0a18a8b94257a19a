"""The sandbox Open Payments wallet provider (an "account servicing entity") on one origin.

URL layout, with `BASE` = `--public-url` (default `http://127.0.0.1:<port>`):

- Wallet addresses: `BASE/<name>` (JSON) and `BASE/<name>/jwks.json`.
- Auth server (GNAP): `BASE/auth` (grant request), `BASE/auth/continue/<id>`,
  `BASE/auth/token/<id>` (rotate/revoke), `BASE/auth/interact/<id>/<nonce>` (consent page).
- Resource server: `BASE` itself — `BASE/incoming-payments`, `BASE/quotes`,
  `BASE/outgoing-payments`, `BASE/outgoing-payment-grant`.
- Pages: `BASE/balances` (the operator's page: every wallet, balance, movements, consent-page
  password, live outgoing-payment grants with a Revoke button).
- Admin (local use, no auth): `BASE/admin/...` (wallets, keys, balances, interactions, faults,
  recorded exchanges); see `sandbox.wallet.admin` and `sandbox.wallet.admin_ops`.

Files in the data dir (`--data-dir`, default `$DATA_DIR` or `.data/wallet`):

- `wallet.sqlite3` — all state; `--reset` deletes it and re-seeds.
- `paguito-private-key.pem` — the platform client's Ed25519 private key (PKCS#8 PEM).
- `paguito-key-id` — its key id (one line).
- `op_api.env` — `WALLET_ADDRESS_URL`, `KEY_ID`, `PRIVATE_KEY_PATH` for op_api, rewritten at start.

The key files survive `--reset` so a configured op_api keeps working; delete them to rotate.

Seeded on first start: `alice` and `bob` (USD, scale 2, 1000.00 each), `carol` (MXN, scale 2,
10000.00) and `paguito` (USD, the platform client, holding the generated key). Quotes use fixed
rates (1 USD = 17 MXN = 0.92 EUR) and a 1% fee (at least one minor unit) in the sender's asset.

Interval limits (`limits.interval`, e.g. `R/2026-12-01T00:00:00Z/P1W`) apply the amount limits
per interval as Rafiki does (`sandbox.wallet.interval`, `sandbox.wallet.spending`). Approving on
the consent page needs the paying wallet's password (`sandbox.wallet.passwords`: random per run
unless `--password NAME=SECRET`), so only the owner approves; the admin approve endpoint stands
in for the owner in tests.

Deliberate simplifications: receivers must be incoming payments at this provider; an unreadable
`interval` is refused at the grant request (Rafiki accepts it and refuses the payments);
directed-identity (`client.jwk`) grants are refused.
"""
