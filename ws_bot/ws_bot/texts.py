"""Everything the bot says, in Spanish and English. `t(lang, key, **values)` picks and fills one."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("es", "en")
DEFAULT_LANGUAGE: Final = "es"

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "welcome": {
        "es": "¡Hola{name}! 👋 Soy Paguito: envío dinero por WhatsApp.\n"
        "Hi! I'm Paguito: I send money over WhatsApp.\n\nElige tu idioma / Choose your language:",
        "en": "Hi{name}! 👋 I'm Paguito: I send money over WhatsApp.\n"
        "¡Hola! Soy Paguito.\n\nChoose your language / Elige tu idioma:",
    },
    "choose_language": {
        "es": "Elige tu idioma / Choose your language:",
        "en": "Choose your language / Elige tu idioma:",
    },
    "language_button": {"es": "Idioma / Language", "en": "Language / Idioma"},
    "language_section": {"es": "Idiomas", "en": "Languages"},
    "language_set": {
        "es": "Listo, te hablaré en español.",
        "en": "Great, I'll speak English.",
    },
    "ask_wallet": {
        "es": "Ahora envíame la dirección de tu billetera (wallet address), por ejemplo "
        "$wallet.example/tu-nombre. De ahí saldrán tus pagos.",
        "en": "Now send me your wallet address, for example $wallet.example/your-name. "
        "Your payments will come from it.",
    },
    "wallet_invalid": {
        "es": "Eso no parece una dirección de billetera. Debe verse como $wallet.example/nombre "
        "o https://wallet.example/nombre.",
        "en": "That doesn't look like a wallet address. It should look like $wallet.example/name "
        "or https://wallet.example/name.",
    },
    "wallet_insecure": {
        "es": "Solo acepto direcciones de billetera https://.",
        "en": "I only accept https:// wallet addresses.",
    },
    "wallet_unreachable": {
        "es": "No encontré una billetera en {url}. Revisa la dirección e inténtalo de nuevo.",
        "en": "I couldn't find a wallet at {url}. Check the address and try again.",
    },
    "wallet_ok": {
        "es": "Billetera registrada: {url} ({asset}).",
        "en": "Wallet registered: {url} ({asset}).",
    },
    # --- linking a wallet (issue 17, linking.py): proof of control and the allowance ---
    "link_choose": {
        "es": "Ahora vincúlala: la aprobarás en tu billetera, y entrar ahí demuestra que es tuya. "
        "¿Cuánto puedo enviar sin pedirte aprobar cada pago?",
        "en": "Now link it: you'll approve it at your wallet, and signing in there proves it's "
        "yours. How much may I send without asking you to approve each payment?",
    },
    "link_first": {
        "es": "Antes de pagar desde {url} hay que vincularla: así sé que es tuya. "
        "Elige tu límite y apruébalo en tu billetera.",
        "en": "Before paying from {url} it must be linked, so I know it's yours. "
        "Choose your allowance and approve it at your wallet.",
    },
    "link_change": {
        "es": "Elige tu nuevo límite. Lo apruebas en tu billetera y entonces reemplaza al actual.",
        "en": "Choose your new allowance. You approve it at your wallet, and then it replaces "
        "the current one.",
    },
    "allowance_now": {
        "es": "Tu billetera {url} está vinculada: {what}.",
        "en": "Your wallet {url} is linked: {what}.",
    },
    "link_button": {"es": "Elegir límite", "en": "Choose allowance"},
    "link_section": {"es": "Límite sin preguntar", "en": "Allowance"},
    "allow_ask": {"es": "Preguntarme cada vez", "en": "Ask me every time"},
    "allow_ask_note": {
        "es": "Apruebas cada pago en tu billetera",
        "en": "You approve each payment at your wallet",
    },
    "allow_P1W": {"es": "Hasta {amount} por semana", "en": "Up to {amount} a week"},
    "allow_P1M": {"es": "Hasta {amount} al mes", "en": "Up to {amount} a month"},
    "allow_note": {
        "es": "Pagos con un toque hasta ese monto",
        "en": "One-tap payments up to that amount",
    },
    "link_what_ask": {
        "es": "te pediré aprobar cada pago en tu billetera",
        "en": "I'll ask you to approve each payment at your wallet",
    },
    "link_what_P1W": {
        "es": "hasta {amount} por semana sin preguntarte",
        "en": "up to {amount} a week without asking",
    },
    "link_what_P1D": {
        "es": "hasta {amount} al día sin preguntarte",
        "en": "up to {amount} a day without asking",
    },
    "link_what_P1M": {
        "es": "hasta {amount} al mes sin preguntarte",
        "en": "up to {amount} a month without asking",
    },
    "link_approve": {
        "es": "Toca el botón y aprueba en tu billetera ({url}): {what}. Entrar a tu billetera "
        "demuestra que es tuya. Te aviso cuando quede vinculada.",
        "en": "Tap the button and approve at your wallet ({url}): {what}. Signing in at your "
        "wallet proves it's yours. I'll tell you once it's linked.",
    },
    "btn_link": {"es": "Vincular billetera", "en": "Link wallet"},
    "link_active": {
        "es": "✅ Billetera vinculada · {what}.\nYa puedes enviar dinero, por ejemplo: "
        "«envía 10 a Bob». Guarda contactos con «guarda a Bob como $wallet.example/bob».",
        "en": "✅ Wallet linked · {what}.\nYou can send money now, for example: "
        '"send 10 to Bob". Save contacts with "save Bob as $wallet.example/bob".',
    },
    "link_not_done": {
        "es": "Tu billetera {url} no quedó vinculada ({reason}). Elige de nuevo para reintentar.",
        "en": "Your wallet {url} was not linked ({reason}). Choose again to retry.",
    },
    "link_reason_rejected": {"es": "lo rechazaste", "en": "you declined it"},
    "link_reason_expired": {"es": "no se aprobó a tiempo", "en": "it wasn't approved in time"},
    "link_reason_failed": {"es": "falló en la billetera", "en": "the wallet failed"},
    "link_refused": {
        "es": "No pude empezar la vinculación: tu billetera no aceptó la solicitud. Revisa la "
        "dirección («mi billetera es …») o inténtalo más tarde.",
        "en": "I couldn't start linking: your wallet didn't accept the request. Check the "
        'address ("my wallet is …") or try again later.',
    },
    "link_taken": {
        "es": "⚠️ Tu billetera {url} se vinculó desde otro número, así que ya no está vinculada "
        "a este. Si no fuiste tú, revisa tu billetera. Para usar otra: «mi billetera es …».",
        "en": "⚠️ Your wallet {url} was linked from another number, so it is no longer linked "
        'to this one. If that wasn\'t you, check your wallet. To use another: "my wallet is …".',
    },
    "link_taken_notice": {
        "es": "se vinculó desde otro número y ya no está vinculada a este.",
        "en": "it was linked from another number and is no longer linked to this one.",
    },
    "unlinked": {
        "es": "Desvinculé tu billetera {url}: revoqué su permiso. Para volver a pagar, "
        "vincúlala de nuevo (escribe «vincular»).",
        "en": "I unlinked your wallet {url} and revoked its grant. To pay again, link it "
        'again (write "link").',
    },
    "nothing_to_unlink": {
        "es": "Tu billetera no está vinculada.",
        "en": "Your wallet isn't linked.",
    },
    "allowance_revoked": {
        "es": "Tu límite se revocó en tu billetera: ya no hay pagos con un toque, cada pago se "
        "aprueba en tu billetera. Para un nuevo límite, escribe «cambiar límite».",
        "en": "Your allowance was revoked at your wallet: no more one-tap payments, each one is "
        'approved at your wallet. For a new allowance, write "change my allowance".',
    },
    "allowance_revoked_notice": {
        "es": "su límite se revocó en la billetera; cada pago se aprobará ahí.",
        "en": "its allowance was revoked at the wallet; each payment will be approved there.",
    },
    "one_tap_left": {
        "es": "⚡ Con un toque, sin ir a tu billetera. Te quedan {left} {period}.",
        "en": "⚡ One tap, no trip to your wallet. You'll have {left} left {period}.",
    },
    "period_P1D": {"es": "hoy", "en": "today"},
    "period_P1W": {"es": "esta semana", "en": "this week"},
    "period_P1M": {"es": "este mes", "en": "this month"},
    "period_other": {"es": "en este periodo", "en": "this period"},
    "fallback_over_allowance": {
        "es": "Este pago supera lo que te queda de tu límite{left}: apruébalo en tu billetera.",
        "en": "This payment is more than your allowance has left{left}: approve it at your wallet.",
    },
    "fallback_link_revoked": {
        "es": "Tu límite se revocó en tu billetera: apruébalo ahí.",
        "en": "Your allowance was revoked at your wallet: approve this one there.",
    },
    "fallback_link_inactive": {
        "es": "Tu vinculación no está activa: apruébalo en tu billetera.",
        "en": "Your link isn't active: approve this one at your wallet.",
    },
    "fallback_no_allowance": {
        "es": "Elegiste «preguntarme cada vez»: apruébalo en tu billetera.",
        "en": 'You chose "ask me every time": approve it at your wallet.',
    },
    "paying_unsure": {
        "es": "No pude confirmar {what} con el servicio de pagos. Te aviso en cuanto sepa cómo "
        "termina.",
        "en": "I couldn't confirm {what} with the payment service. I'll tell you as soon as I "
        "know how it ends.",
    },
    "paying_now": {
        "es": "⚡ Pagando {what} con tu límite. Te aviso cuando llegue.",
        "en": "⚡ Paying {what} within your allowance. I'll tell you when it arrives.",
    },
    "menu": {"es": "¿Qué quieres hacer?", "en": "What would you like to do?"},
    "btn_send": {"es": "Enviar dinero", "en": "Send money"},
    "btn_history": {"es": "Historial", "en": "History"},
    "btn_help": {"es": "Ayuda", "en": "Help"},
    "btn_confirm": {"es": "Confirmar", "en": "Confirm"},
    "btn_cancel": {"es": "Cancelar", "en": "Cancel"},
    "btn_approve": {"es": "Aprobar pago", "en": "Approve payment"},
    "btn_yes": {"es": "Sí", "en": "Yes"},
    "btn_no": {"es": "No", "en": "No"},
    "btn_choose": {"es": "Elegir", "en": "Choose"},
    "help": {
        "es": "Puedo enviar dinero desde tu billetera:\n"
        "• «envía 20 a Bob» o «mándale 5.50 a $wallet.example/bob»\n"
        "• una nota de voz o la foto de un recibo\n"
        "• «guarda a Bob como $wallet.example/bob» o comparte su contacto\n"
        "• «contactos», «historial», «estado», «saldo», «cancelar», «idioma»\n"
        "Nunca muevo dinero sin que lo apruebes en tu billetera.",
        "en": "I can send money from your wallet:\n"
        '• "send 20 to Bob" or "pay 5.50 to $wallet.example/bob"\n'
        "• a voice note or a photo of a receipt\n"
        '• "save Bob as $wallet.example/bob" or share their contact card\n'
        '• "contacts", "history", "status", "balance", "cancel", "language"\n'
        "I never move money unless you approve it at your wallet.",
    },
    "ask_send": {
        "es": "¿A quién y cuánto? Por ejemplo: «envía 10 a Bob».",
        "en": 'To whom and how much? For example: "send 10 to Bob".',
    },
    "ask_amount": {
        "es": "¿Cuánto quieres enviar a {recipient}? (en {asset})",
        "en": "How much do you want to send to {recipient}? (in {asset})",
    },
    "ask_recipient": {
        "es": "¿A quién le envío {amount}? Dime un contacto guardado o una dirección de billetera.",
        "en": "Who should I send {amount} to? Tell me a saved contact or a wallet address.",
    },
    "ask_recipient_only": {
        "es": "¿A quién le quieres enviar dinero? Dime un contacto guardado o una dirección "
        "de billetera.",
        "en": "Who do you want to send money to? Tell me a saved contact or a wallet address.",
    },
    "unknown_recipient": {
        "es": "Aún no conozco a {name}. Envíame su dirección de billetera "
        "(por ejemplo $wallet.example/{slug}) y lo guardo en tus contactos.",
        "en": "I don't know {name} yet. Send me their wallet address "
        "(for example $wallet.example/{slug}) and I'll save it in your contacts.",
    },
    "currency_mismatch": {
        "es": "Tu billetera está en {asset}: solo puedo enviar montos en {asset}. "
        "¿Cuánto en {asset}?",
        "en": "Your wallet is in {asset}: I can only send amounts in {asset}. How much in {asset}?",
    },
    "preparing": {"es": "Preparando el pago… ⏳", "en": "Preparing the payment… ⏳"},
    "summary": {
        "es": "Resumen del pago:\n• Sale de tu billetera: {debit}\n• Recibe: {receive}\n"
        "• Comisión: {fee}{rate}\n• Para: *{recipient}*{wallet}\n¿Confirmas?",
        "en": "Payment summary:\n• Leaves your wallet: {debit}\n• Receives: {receive}\n"
        "• Fee: {fee}{rate}\n• To: *{recipient}*{wallet}\nConfirm?",
    },
    "rate_line": {
        "es": "\n• Tipo de cambio: 1 {base} = {rate} {quote}",
        "en": "\n• Exchange rate: 1 {base} = {rate} {quote}",
    },
    "fee_in_rate": {"es": "incluida en el tipo de cambio", "en": "included in the rate"},
    "what": {"es": "{amount} a {recipient}", "en": "{amount} to {recipient}"},
    "replaced": {
        "es": "Reemplacé tu pago pendiente de {what}: ese resumen ya no se puede confirmar.",
        "en": "I replaced your pending payment of {what}: that summary can't be confirmed now.",
    },
    "already_waiting": {
        "es": "El pago de {what} ya está listo: tócale «Confirmar» arriba o escribe «sí».",
        "en": 'The payment of {what} is already ready: tap "Confirm" above or type "yes".',
    },
    "again": {
        "es": "Hace unos minutos ya enviaste {what}. ¿Lo envío otra vez?",
        "en": "A few minutes ago you already sent {what}. Send it again?",
    },
    "not_again": {
        "es": "De acuerdo, no envío {what} otra vez.",
        "en": "OK, I won't send {what} again.",
    },
    "question_gone": {
        "es": "Esa pregunta ya quedó respondida; no hice nada.",
        "en": "That question was already answered; I did nothing.",
    },
    "nothing_to_confirm": {
        "es": "No hay ningún pago esperando tu confirmación.",
        "en": "There is no payment waiting for your confirmation.",
    },
    "draft_superseded": {
        "es": "Ese resumen ({what}) fue reemplazado por uno más nuevo, así que no lo confirmé.",
        "en": "That summary ({what}) was replaced by a newer one, so I didn't confirm it.",
    },
    "draft_expired": {
        "es": "Ese resumen ({what}) expiró. Pídemelo de nuevo si aún quieres enviarlo.",
        "en": "That summary ({what}) expired. Ask me again if you still want to send it.",
    },
    "draft_cancelled": {
        "es": "Ese pago ({what}) fue cancelado; no se envió nada.",
        "en": "That payment ({what}) was cancelled; nothing was sent.",
    },
    "approve": {
        "es": "Aprueba el pago de {what} en tu billetera con el botón. Te aviso cuando termine.",
        "en": "Approve the payment of {what} at your wallet with the button. "
        "I'll let you know when it's done.",
    },
    "receipt": {
        "es": "✅ ¡Pago enviado!\nRecibió: {receive}\nSalió de tu billetera: {debit}\n"
        "Para: {recipient}\nReferencia: {ref}",
        "en": "✅ Payment sent!\nReceived: {receive}\nDebited from your wallet: {debit}\n"
        "To: {recipient}\nReference: {ref}",
    },
    "rejected": {
        "es": "❌ Rechazaste el pago a {recipient} ({receive}). No se cobró nada.",
        "en": "❌ You rejected the payment to {recipient} ({receive}). Nothing was charged.",
    },
    "expired": {
        "es": "⌛ El pago a {recipient} ({receive}) expiró sin aprobarse. No se cobró nada.",
        "en": "⌛ The payment to {recipient} ({receive}) expired before it was approved. "
        "Nothing was charged.",
    },
    "failed": {
        "es": "⚠️ El pago a {recipient} ({receive}) falló{reason}. Revisa tu billetera.",
        "en": "⚠️ The payment to {recipient} ({receive}) failed{reason}. Please check your wallet.",
    },
    "unknown_final": {
        "es": "No pude confirmar el estado del pago a {recipient} ({receive}). "
        "Revisa tu billetera.",
        "en": "I couldn't confirm the status of the payment to {recipient} ({receive}). "
        "Check your wallet.",
    },
    "recipient_notice": {
        "es": "💸 {sender} te envió {amount} con Paguito.",
        "en": "💸 {sender} sent you {amount} with Paguito.",
    },
    "staff_notice": {
        "es": "[Paguito] {status}: {sender} → {recipient}, {amount} ({ref})",
        "en": "[Paguito] {status}: {sender} → {recipient}, {amount} ({ref})",
    },
    "history_empty": {"es": "Aún no tienes pagos.", "en": "You have no payments yet."},
    "history_header": {"es": "Tus últimos pagos enviados:", "en": "Your recent payments sent:"},
    "history_received": {"es": "Recibidos:", "en": "Received:"},
    "status_last": {
        "es": "Tu último pago: {what} — {status} ({when}).",
        "en": "Your last payment: {what} — {status} ({when}).",
    },
    "status_none": {"es": "Aún no has enviado pagos.", "en": "You haven't sent any payments yet."},
    "balance": {
        "es": "Paguito no puede ver tu saldo: tu billetera no lo comparte. Revísalo en tu "
        "billetera: {url}",
        "en": "Paguito can't see your balance: your wallet doesn't share it. Check it at your "
        "wallet: {url}",
    },
    "status_completed": {"es": "enviado", "en": "sent"},
    "status_rejected": {"es": "rechazado", "en": "rejected"},
    "status_expired": {"es": "expirado", "en": "expired"},
    "status_failed": {"es": "fallido", "en": "failed"},
    "status_unknown": {"es": "sin confirmar", "en": "unconfirmed"},
    "status_cancelled": {"es": "cancelado", "en": "cancelled"},
    "status_pending": {"es": "pendiente", "en": "pending"},
    "cancelled": {
        "es": "Cancelado. No se envió nada.",
        "en": "Cancelled. Nothing was sent.",
    },
    "cancelled_items": {
        "es": "Cancelado: {items}. No se envió nada.",
        "en": "Cancelled: {items}. Nothing was sent.",
    },
    "cancelled_some": {"es": "Cancelado: {items}.", "en": "Cancelled: {items}."},
    "still_waiting": {
        "es": "Sigue esperando tu aprobación en tu billetera: {items}. Recházalo ahí si no lo "
        "quieres.",
        "en": "Still waiting for your approval at your wallet: {items}. Reject it there if you "
        "don't want it.",
    },
    "nothing_to_cancel": {
        "es": "No hay nada pendiente que cancelar.",
        "en": "There is nothing pending to cancel.",
    },
    "cannot_cancel_confirmed": {
        "es": "Ese pago ya está en tu billetera esperando tu aprobación: "
        "recházalo ahí si no lo quieres.",
        "en": "That payment is already waiting at your wallet: "
        "reject it there if you don't want it.",
    },
    "already_confirmed": {
        "es": "Ese pago ({what}) ya fue confirmado.",
        "en": "That payment ({what}) was already confirmed.",
    },
    "draft_gone": {
        "es": "Ese pago ya no está pendiente.",
        "en": "That payment is no longer pending.",
    },
    "rate_limited": {
        "es": "Vas muy rápido 🙏 Espera un minuto y vuelve a escribirme.",
        "en": "You're going too fast 🙏 Please wait a minute and write again.",
    },
    "llm_down": {
        "es": "Ahora mismo no puedo entender mensajes (mi asistente no responde). "
        "Inténtalo en unos minutos. No se movió dinero.",
        "en": "I can't understand messages right now (my assistant isn't answering). "
        "Please try again in a few minutes. No money moved.",
    },
    "op_down": {
        "es": "Ahora mismo no puedo conectar con el servicio de pagos. No se cobró nada; "
        "inténtalo más tarde.",
        "en": "I can't reach the payment service right now. Nothing was charged; "
        "please try again later.",
    },
    "payment_refused": {
        "es": "No pude preparar el pago de {what}: {reason}. No se cobró nada. Referencia: {ref}",
        "en": "I couldn't prepare the payment of {what}: {reason}. Nothing was charged. "
        "Reference: {ref}",
    },
    "reason_funds": {
        "es": "tu billetera no tiene fondos suficientes",
        "en": "your wallet doesn't have enough funds",
    },
    "reason_rate": {
        "es": "las billeteras no pueden cambiar entre sus monedas",
        "en": "the wallets can't exchange between their currencies",
    },
    "reason_amount": {
        "es": "el monto no es válido para esa billetera",
        "en": "the amount isn't valid for that wallet",
    },
    "reason_receiver": {
        "es": "la billetera de destino no aceptó el pago",
        "en": "the receiving wallet didn't accept the payment",
    },
    "reason_network": {
        "es": "la red de pagos no pudo entregarlo",
        "en": "the payment network couldn't deliver it",
    },
    "reason_other": {
        "es": "tu billetera rechazó el pago",
        "en": "your wallet refused the payment",
    },
    "error": {
        "es": "Algo salió mal de mi lado. No se cobró nada; inténtalo de nuevo.",
        "en": "Something went wrong on my side. Nothing was charged; please try again.",
    },
    "contact_saved": {
        "es": "📇 Guardé a {name}: {wallet}",
        "en": "📇 Saved {name}: {wallet}",
    },
    "contact_saved_user": {
        "es": "📇 Guardé a {name}: ya usa Paguito, así que le pago directo a su billetera.",
        "en": "📇 Saved {name}: they're on Paguito, so I'll pay their wallet directly.",
    },
    "overwrite_contact": {
        "es": "Ya tienes a {name} guardado ({old}). ¿Lo cambio por {new}?",
        "en": "You already have {name} saved ({old}). Replace it with {new}?",
    },
    "contact_kept": {"es": "Dejé a {name} como estaba.", "en": "I kept {name} as it was."},
    "which_contact": {
        "es": "Tienes varios contactos que se llaman {name}. ¿A cuál le envío?",
        "en": "You have several contacts called {name}. Which one?",
    },
    "contact_needs_wallet": {
        "es": "{name} no usa Paguito todavía. ¿Cuál es su dirección de billetera?",
        "en": "{name} isn't on Paguito yet. What's their wallet address?",
    },
    "contacts_empty": {
        "es": "Tu libreta está vacía. Agrega con «guarda a Bob como $wallet.example/bob».",
        "en": 'Your address book is empty. Add with "save Bob as $wallet.example/bob".',
    },
    "contacts_header": {"es": "Tus contactos:", "en": "Your contacts:"},
    "contact_deleted": {"es": "Borré a {name}.", "en": "Deleted {name}."},
    "unsupported": {
        "es": "Puedo leer texto, notas de voz, fotos de recibos y contactos compartidos.",
        "en": "I can read text, voice notes, photos of receipts and shared contacts.",
    },
    "media_failed": {
        "es": "No pude descargar ese archivo. ¿Me lo envías de nuevo o me lo escribes?",
        "en": "I couldn't download that file. Could you send it again or type it?",
    },
    "thanks": {
        "es": "¡De nada! 🙌 Si quieres enviar dinero, dime a quién y cuánto.",
        "en": "You're welcome! 🙌 To send money, tell me to whom and how much.",
    },
    "your_wallet_linked": {
        "es": "Tu billetera: {url} · vinculada: {what}.",
        "en": "Your wallet: {url} · linked: {what}.",
    },
    "your_wallet_unlinked": {
        "es": "Tu billetera: {url} · sin vincular: escribe «vincular» para poder pagar desde ella.",
        "en": 'Your wallet: {url} · not linked: write "link" to pay from it.',
    },
    "fee_none": {"es": "sin comisión", "en": "no fee"},
    # --- WhatsApp delivery (intake.py): number changes, identity changes, late deliveries ---
    "number_changed": {
        "es": "Vi que cambiaste tu número. Tu billetera, tus contactos y tus pagos siguen "
        "contigo en este número. 👍",
        "en": "I saw you changed your number. Your wallet, contacts and payments moved with "
        "you to this number. 👍",
    },
    "identity_changed": {
        "es": "Tu cuenta de WhatsApp cambió (¿teléfono nuevo?). Por seguridad cancelé el pago "
        "que esperaba tu confirmación; envíalo de nuevo si lo quieres.",
        "en": "Your WhatsApp account changed (a new phone?). To be safe I cancelled the payment "
        "that was waiting for your confirmation; send it again if you still want it.",
    },
    "edited_payment": {
        "es": "Vi que editaste el mensaje del pago pendiente. El pago sigue como te lo mostré; "
        "si quieres otro, toca Cancelar y envíame uno nuevo.",
        "en": "I saw you edited the message of the pending payment. The payment stays as I "
        "showed it; for a different one, tap Cancel and send me a new message.",
    },
    "late_delivery": {
        "es": "Tu mensaje me llegó tarde ({age}) y ya no lo ejecuto. Si todavía quieres "
        "hacerlo, envíalo de nuevo.",
        "en": "Your message reached me late ({age}), so I did not act on it. If you still "
        "mean it, please send it again.",
    },
    # ---- issue 16: several recipients, repeats, money requests (ws_bot.readings and friends)
    "no_recurrence": {
        "es": "Aún no puedo programar pagos que se repitan ({every}). Puedo hacerlo una sola "
        "vez, ahora: confírmalo solo si eso quieres.",
        "en": "I can't schedule repeating payments ({every}) yet. I can do it once, now: "
        "confirm only if that's what you want.",
    },
    "several_header": {
        "es": "Resumen de {count} pagos:",
        "en": "Summary of {count} payments:",
    },
    "several_line": {
        "es": "• {what} · sale de tu billetera: {debit} (comisión: {fee})",
        "en": "• {what} · leaves your wallet: {debit} (fee: {fee})",
    },
    "several_total": {
        "es": "Total que sale de tu billetera: {total}",
        "en": "Total leaving your wallet: {total}",
    },
    "several_split": {
        "es": "(Reparto de {total}; tu parte se queda contigo.)",
        "en": "(Splitting {total}; your own share stays with you.)",
    },
    "several_confirm": {
        "es": "¿Confirmas todos? Cada pago se aprueba en tu billetera.",
        "en": "Confirm them all? You approve each payment at your wallet.",
    },
    "several_confirm_once": {
        "es": "¿Confirmas todos? Los apruebas juntos en tu billetera, con una sola aprobación.",
        "en": "Confirm them all? You approve them together at your wallet, in one approval.",
    },
    "several_all": {
        "es": "los {count} pagos ({total} en total)",
        "en": "the {count} payments ({total} in total)",
    },
    "several_amounts": {
        "es": "¿Cuánto le envío a cada uno ({names})? Por ejemplo: 20 a Bob y 10 a Alice. "
        "No envié nada.",
        "en": "How much for each of them ({names})? For example: 20 to Bob and 10 to Alice. "
        "Nothing was sent.",
    },
    "several_currency": {
        "es": "Tu billetera es en {asset}: dime los montos en {asset}. No envié nada.",
        "en": "Your wallet is in {asset}: tell me the amounts in {asset}. Nothing was sent.",
    },
    "several_ambiguous": {
        "es": "Tengo varios contactos llamados {names}: escribe el nombre completo de cada uno. "
        "No envié nada.",
        "en": "I have several contacts called {names}: write each one's full name. "
        "Nothing was sent.",
    },
    "several_refused": {
        "es": "No pude preparar el pago a {recipient}: {reason}. No envié ninguno de los pagos.",
        "en": "I couldn't prepare the payment to {recipient}: {reason}. None of the payments "
        "was sent.",
    },
    "several_too_many": {
        "es": "Puedo pagar a {most} personas como máximo en un mensaje. No envié nada.",
        "en": "I can pay at most {most} people in one message. Nothing was sent.",
    },
    "several_gone": {
        "es": "Ese resumen ya no está vigente (fue reemplazado o cancelado). No se envió nada.",
        "en": "That summary is no longer valid (it was replaced or cancelled). Nothing was sent.",
    },
    "several_expired": {
        "es": "Ese resumen venció: {items}. No se envió nada; pídemelo de nuevo.",
        "en": "That summary expired: {items}. Nothing was sent; ask me again.",
    },
    "several_approve": {
        "es": "Aprueba el pago de {what} en tu billetera. Te aviso cuando termine.",
        "en": "Approve the payment of {what} at your wallet. I'll let you know when it's done.",
    },
    "request_incomplete": {
        "es": "Dime cuánto y a quién en un solo mensaje, por ejemplo: cóbrale 50 a Bob. "
        "No pedí nada.",
        "en": "Tell me how much and whom in one message, for example: request 50 from Bob. "
        "Nothing was requested.",
    },
    "request_currency": {
        "es": "Tu billetera es en {asset}: dime el monto en {asset}. No pedí nada.",
        "en": "Your wallet is in {asset}: tell me the amount in {asset}. Nothing was requested.",
    },
    "request_one_at_a_time": {
        "es": "Por ahora pido dinero a una persona por mensaje ({names}): envíame una solicitud "
        "para cada una. No pedí nada.",
        "en": "For now I ask one person per message ({names}): send me one request for each. "
        "Nothing was requested.",
    },
    "request_which": {
        "es": "Tengo varios contactos llamados {name}: escribe el nombre completo. No pedí nada.",
        "en": "I have several contacts called {name}: write the full name. Nothing was requested.",
    },
    "request_self": {
        "es": "No puedes pedirte dinero a ti mismo. No pedí nada.",
        "en": "You can't request money from yourself. Nothing was requested.",
    },
    "request_summary": {
        "es": "Solicitud de cobro:\n• Le pides: {amount}\n• A: *{payer}*\n• Llega a tu "
        "billetera; tú no pagas nada.\n{how}\n¿La envío?",
        "en": "Money request:\n• You ask for: {amount}\n• From: *{payer}*\n• It goes into your "
        "wallet; you pay nothing.\n{how}\nSend it?",
    },
    "request_how_chat": {
        "es": "{payer} la recibirá por WhatsApp para pagarla o rechazarla.",
        "en": "{payer} will get it on WhatsApp to pay or decline.",
    },
    "request_how_link": {
        "es": "{payer} no está en Paguito: te daré un enlace para compartirle.",
        "en": "{payer} isn't on Paguito: I'll give you a link to share with them.",
    },
    "request_not_sent": {
        "es": "Listo, no le pedí nada a {payer}.",
        "en": "OK, I didn't ask {payer} for anything.",
    },
    "request_failed": {
        "es": "No pude crear la solicitud: {reason}. No se pidió nada.",
        "en": "I couldn't create the request: {reason}. Nothing was requested.",
    },
    "request_sent": {
        "es": "📨 Le pedí {amount} a {payer}. Te aviso cuando pague, rechace o venza.",
        "en": "📨 I asked {payer} for {amount}. I'll tell you when they pay, decline or it "
        "expires.",
    },
    "request_link": {
        "es": "📨 Solicitud creada por {amount}. {payer} no está en Paguito: compártele este "
        "enlace; cualquier billetera Open Payments puede pagarlo:\n{url}\nTe aviso cuando se "
        "pague o venza.",
        "en": "📨 Request created for {amount}. {payer} isn't on Paguito: share this link with "
        "them; any Open Payments wallet can pay it:\n{url}\nI'll tell you when it's paid or "
        "expires.",
    },
    "request_to_payer": {
        "es": "🙋 {requester} te pide {amount} con Paguito. ¿Pagas?",
        "en": "🙋 {requester} asks you for {amount} with Paguito. Pay?",
    },
    "btn_pay_request": {"es": "Pagar", "en": "Pay"},
    "btn_decline_request": {"es": "Rechazar", "en": "Decline"},
    "request_you_declined": {
        "es": "Rechazaste la solicitud de {requester} por {amount}. No se envió nada.",
        "en": "You declined {requester}'s request for {amount}. Nothing was sent.",
    },
    "request_closed": {
        "es": "Esa solicitud ya no está abierta ({status}).",
        "en": "That request is no longer open ({status}).",
    },
    "request_cannot_pay": {
        "es": "No pude preparar el pago de esa solicitud: {reason}. No se envió nada.",
        "en": "I couldn't prepare the payment of that request: {reason}. Nothing was sent.",
    },
    "request_paid": {
        "es": "✅ {payer} pagó tu solicitud de {amount}.",
        "en": "✅ {payer} paid your request for {amount}.",
    },
    "request_declined": {
        "es": "{payer} no pagó tu solicitud de {amount} (la rechazó). No recibiste nada.",
        "en": "{payer} did not pay your request for {amount} (declined). You received nothing.",
    },
    "request_expired": {
        "es": "⌛ Tu solicitud de {amount} a {payer} venció sin pagarse.",
        "en": "⌛ Your request for {amount} from {payer} expired unpaid.",
    },
    "request_expired_payer": {
        "es": "⌛ La solicitud de {requester} por {amount} venció; ya no se puede pagar.",
        "en": "⌛ {requester}'s request for {amount} expired; it can't be paid now.",
    },
    # ---- issue 17: scheduled payments (ws_bot.schedules, ws_bot.scheduler)
    "schedule_summary": {
        "es": "🔁 {what} {every}, el primero hoy.\n"
        "Cada pago sale de tu billetera: {debit} (comisión: {fee}).\n"
        "Lo apruebas una sola vez en tu billetera: permitirá pagar hasta {allowance} {every} "
        "(un margen de {margin}% por si la comisión cambia). Lo detienes cuando quieras con "
        "«mis pagos programados».",
        "en": "🔁 {what} {every}, the first one today.\n"
        "Each payment leaves your wallet: {debit} (fee: {fee}).\n"
        "You approve it once at your wallet: it will allow up to {allowance} {every} "
        '(a {margin}% margin in case the fee changes). Stop it anytime with "my scheduled '
        'payments".',
    },
    "schedule_needs_details": {
        "es": "Para programar un pago dime cuánto y a quién, por ejemplo «mándale 10 a Bob cada "
        "mes». No programé nada.",
        "en": 'To schedule a payment tell me how much and to whom, for example "pay Bob 10 every '
        'month". Nothing was scheduled.',
    },
    "schedule_one_recipient": {
        "es": "Programo pagos a una persona a la vez: pídemelos uno por uno. No programé nada.",
        "en": "I schedule payments to one person at a time: ask me one by one. Nothing was "
        "scheduled.",
    },
    "schedule_unknown_recipient": {
        "es": "Para programar pagos a {name} necesito su billetera: guárdala primero («guarda a "
        "{name} como $wallet.example/…») y pídemelo de nuevo. No programé nada.",
        "en": 'To schedule payments to {name} I need their wallet: save it first ("save {name} '
        'as $wallet.example/…") and ask me again. Nothing was scheduled.',
    },
    "schedule_cadence": {
        "es": "No puedo programar pagos {every}: como mucho, uno al día. No programé nada.",
        "en": "I can't schedule payments {every}: at most one a day. Nothing was scheduled.",
    },
    "schedule_approve": {
        "es": "Aprueba en tu billetera el pago programado ({what} {every}). Solo esta vez: "
        "después los pagos salen solos.",
        "en": "Approve the scheduled payment ({what} {every}) at your wallet. Only this once: "
        "after that the payments go out by themselves.",
    },
    "btn_approve_schedule": {"es": "Aprobar", "en": "Approve"},
    "schedule_active": {
        "es": "✅ Pago programado activo: {what} {every}. El primero sale ahora.",
        "en": "✅ Scheduled payment active: {what} {every}. The first one goes out now.",
    },
    "schedule_not_approved": {
        "es": "El pago programado de {what} {every} no se aprobó en tu billetera: no programé "
        "nada.",
        "en": "The scheduled payment of {what} {every} was not approved at your wallet: nothing "
        "was scheduled.",
    },
    "schedule_cancelled": {
        "es": "Cancelado: {what} {every}. No programé nada.",
        "en": "Cancelled: {what} {every}. Nothing was scheduled.",
    },
    "schedule_gone": {
        "es": "Ese pago programado ya no está vigente.",
        "en": "That scheduled payment is no longer valid.",
    },
    "schedule_confirmed": {
        "es": "Ese pago programado ya estaba confirmado: {what} {every}.",
        "en": "That scheduled payment was already confirmed: {what} {every}.",
    },
    "schedule_expired": {
        "es": "Ese resumen venció: {what} {every}. No programé nada; pídemelo de nuevo.",
        "en": "That summary expired: {what} {every}. Nothing was scheduled; ask me again.",
    },
    "schedule_run": {
        "es": "⏰ Pago programado n.º {run}: {what}. Te aviso cuando llegue.",
        "en": "⏰ Scheduled payment #{run}: {what}. I'll tell you when it arrives.",
    },
    "schedule_run_failed": {
        "es": "⚠️ El pago programado n.º {run} ({what}) no se hizo: {reason}. No lo reintento; "
        "el siguiente es el {next}.",
        "en": "⚠️ Scheduled payment #{run} ({what}) was not made: {reason}. I won't retry it; "
        "the next one is on {next}.",
    },
    "schedule_ended": {
        "es": "⛔ El pago programado de {what} {every} se detuvo: {reason}. No se harán más pagos.",
        "en": "⛔ The scheduled payment of {what} {every} stopped: {reason}. No more payments "
        "will be made.",
    },
    "sched_reason_over_allowance": {
        "es": "costaba más de lo que aprobaste en tu billetera",
        "en": "it cost more than you approved at your wallet",
    },
    "sched_reason_link_revoked": {
        "es": "el permiso se revocó en tu billetera",
        "en": "the permission was revoked at your wallet",
    },
    "sched_reason_link_inactive": {
        "es": "el permiso de tu billetera ya no está activo",
        "en": "your wallet's permission is no longer active",
    },
    "sched_reason_unlinked": {
        "es": "tu billetera ya no está vinculada a este número",
        "en": "your wallet is no longer linked to this number",
    },
    "sched_reason_no_answer": {
        "es": "el servicio de pagos no respondió a tiempo",
        "en": "the payment service did not answer in time",
    },
    "schedules_none": {
        "es": "No tienes pagos programados. Por ejemplo: «mándale 10 a Bob cada mes».",
        "en": 'You have no scheduled payments. For example: "pay Bob 10 every month".',
    },
    "schedules_header": {
        "es": "Tus pagos programados (toca uno para detenerlo):",
        "en": "Your scheduled payments (tap one to stop it):",
    },
    "schedules_line": {
        "es": "• {what} {every} · {state}",
        "en": "• {what} {every} · {state}",
    },
    "schedule_state_active": {"es": "próximo: {next}", "en": "next: {next}"},
    "schedule_state_linking": {
        "es": "esperando tu aprobación en la billetera",
        "en": "waiting for your approval at your wallet",
    },
    "btn_stop_schedule": {"es": "Detener uno", "en": "Stop one"},
    "schedules_section": {"es": "Programados", "en": "Scheduled"},
    "schedule_stop_row": {"es": "Detener: {what}", "en": "Stop: {what}"},
    "schedule_stopped": {
        "es": "⏹️ Detuve el pago programado de {what} {every} y revoqué su permiso en tu "
        "billetera. No se harán más pagos.",
        "en": "⏹️ I stopped the scheduled payment of {what} {every} and revoked its permission at "
        "your wallet. No more payments will be made.",
    },
    "schedule_stopped_unrevoked": {
        "es": "⏹️ Detuve el pago programado de {what} {every}: no se harán más pagos. No pude "
        "revocar su permiso en tu billetera ahora; también puedes revocarlo ahí.",
        "en": "⏹️ I stopped the scheduled payment of {what} {every}: no more payments will be "
        "made. I couldn't revoke its permission at your wallet just now; you can also revoke "
        "it there.",
    },
    "history_requests": {"es": "Solicitudes de cobro:", "en": "Money requests:"},
    "request_status_asked": {"es": "pendiente", "en": "pending"},
    "request_status_paid": {"es": "pagada", "en": "paid"},
    "request_status_declined": {"es": "rechazada", "en": "declined"},
    "request_status_expired": {"es": "vencida", "en": "expired"},
}


def plain_reason(lang: str | None, detail: str) -> str:
    """A service's English reason as plain words in the user's language."""
    d = detail.lower()
    if "funds" in d or "balance" in d:
        key = "reason_funds"
    elif "liquidity" in d or "route" in d or "network" in d:
        key = "reason_network"
    elif "rate" in d or "currenc" in d or "asset" in d:
        key = "reason_rate"
    elif "amount" in d:
        key = "reason_amount"
    elif "receiver" in d or "incoming" in d:
        key = "reason_receiver"
    else:
        key = "reason_other"
    return t(lang, key)


def short_ref(identifier: str) -> str:
    """A reference a person can read out ('P-7F3K2A'): the start of the id staff search by."""
    return "P-" + identifier.replace("-", "")[:6].upper()


def normalize_language(value: str | None) -> str:
    if value:
        code = value.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def t(lang: str | None, key: str, **values: object) -> str:
    """The text `key` in `lang` (Spanish when unknown), filled with `values`."""
    entry = _TEXTS[key]
    template = entry.get(normalize_language(lang), entry[DEFAULT_LANGUAGE])
    return template.format(**values) if values else template


def keys() -> list[str]:
    return list(_TEXTS)


def has_all_languages() -> bool:
    return all(set(LANGUAGES) <= set(entry) for entry in _TEXTS.values())
