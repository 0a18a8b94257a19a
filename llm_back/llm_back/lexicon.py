"""Word lists of the offline parser (folded: lower case, no accents). Data only, no logic."""

from __future__ import annotations

from llm_back.numbers import NUMBER_WORDS


def _w(text: str) -> list[str]:
    """Whitespace-separated words (keeps the long lists below readable)."""
    return text.split()


# Imperatives and infinitives that ask to move money. Past forms ("mandé", "paid") are not here.
PAY_VERBS_ES = frozenset(
    _w(
        """
    envia enviale enviales enviar enviarle enviarles envie enviele envienle envialo manda
    mandale mandales mandar mandarle mandarles mande mandele mandenle mandalo paga pagale
    pagales pagar pagarle pagarles pague paguele paguenle transfiere transfierele
    transfiereles transferir transferirle transferirles transfiera transfierale deposita
    depositale depositar depositarle deposite depositele pasale pasales pasarle pasarles
    prestale prestarle presta yapea yapeale abona abonale abonar abonarle regalale mandes
    envies pagues transfieras deposites mandaselos mandaselo mandaselas mandasela enviaselos
    enviaselo pagaselos pagaselo transfiereselos depositaselos pasaselos mandas envias pagas
    transfieres depositas mandarias enviarias pagarias transferirias pasas
    """
    )
)
PAY_VERBS_EN = frozenset(_w("send pay transfer wire give venmo zelle shoot remit tip"))
PAY_VERBS = PAY_VERBS_ES | PAY_VERBS_EN
# Asking someone to pay the user: a money request, never a payment from the user. "ask",
# "charge" and "bill" count only with an amount ("charge my phone" is not a request).
REQUEST_VERBS = frozenset(
    _w(
        """
    cobrale cobrales cobra cobrar cobrarle cobrarles cobrenle cobrele pidele pideles
    pedirle pedirles pidale pidanle solicitale solicitarle cobres pidas
    reclamale reclamarle request charge bill invoice ask
    """
    )
)
# Verbs that split an amount between several people: "divide 60 entre Bob, Alice y yo".
SPLIT_VERBS = frozenset(
    _w("split divide dividir dividelo dividelos reparte repartir repartelo repartelos")
)
SPLIT_MARKERS = frozenset(_w("between among entre"))
# The user in a list of people sharing a split ("Bob, Alice and me").
SELF_WORDS = frozenset(_w("me yo mi myself i"))
THANKS_CORE = frozenset(_w("gracias thanks thank thx ty graciass grax merci cheers"))
# "¿me mandas 20?" asks to receive; "me mandas 20 a Bob" asks to pay Bob.
ASKING_VERBS = frozenset(_w("mandas envias pagas transfieres depositas pasas"))
# "dile a Bob que me pague 20": the user asks to be paid.
PAY_ME_SUBJUNCTIVE = frozenset(_w("pague mande envie transfiera deposite pase"))
# Words before a pay verb that make it a question, a hypothesis or a wish, not an order.
HYPOTHETICAL = frozenset(
    _w("if si maybe might perhaps quizas quiza talvez suppose supongamos should deberia")
)
QUESTION_OPENERS = frozenset(
    _w(
        """
    is are was were would does do did what whats what's why when where how which es era seria
    cuanto cuanta que como cuando donde cual how's where's who's
    """
    )
)
# Questions that are polite orders: "can you send…", "¿me ayudas a mandarle…?".
POLITE_OPENERS = frozenset(
    _w("can could will puedes podrias puede podria ayudas ayudarias please porfa favor")
)
# Spanish forms that are past tense when written with a final accent: "mandé", "pagó".
PAST_WHEN_ACCENTED = frozenset(
    _w(
        """
    mande pague envie deposite transferi mando pago envio deposito transfirio
    """
    )
)
NEGATIONS = frozenset(_w("no nunca jamas don't dont never not didn't didnt"))
DETERMINERS_EN = frozenset(_w("the my your his her our their a an this that"))
# "send me 20", "I'll pay you back": not a payment Paguito can make to someone.
SELF_OBJECTS = frozenset({"me", "you"})

CURRENCY_WORDS: dict[str, str] = {
    "dolares": "USD", "dolar": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD",
    "buck": "USD", "dolaritos": "USD", "usd": "USD", "pesos": "MXN", "peso": "MXN",
    "pesitos": "MXN", "varos": "MXN", "mxn": "MXN", "euros": "EUR", "euro": "EUR",
    "eur": "EUR", "pavos": "EUR", "libras": "GBP", "pounds": "GBP", "pound": "GBP",
    "gbp": "GBP", "quid": "GBP", "soles": "PEN", "reales": "BRL", "quetzales": "GTQ",
}  # fmt: skip
# Three-letter codes count only written in capitals ("PEN", not "pen") unless listed above.
CURRENCY_CODES = frozenset(_w("USD MXN EUR GBP COP ARS CLP PEN BRL CAD GTQ CRC UYU BOB"))
CURRENCY_SYMBOLS: dict[str, str] = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "MX$": "MXN"}
# Where "1.500" and "10.999" use the dot as the decimal point in Spanish too (Mexico writes
# "1,500.50"); elsewhere a Spanish "1.500" is fifteen hundred. "2.000" is 2000 everywhere.
DOT_DECIMAL_HOMES = frozenset(_w("MXN"))
# Currencies called "peso": for their users "$" and "pesos" mean their own money.
PESO_CODES = frozenset(_w("MXN COP ARS CLP UYU DOP CUP PHP"))
PESO_WORDS = frozenset(_w("pesos peso pesitos varos"))
# Slang multipliers without a currency of their own: "5 lucas" is 5000 of the local peso.
SLANG_THOUSANDS = frozenset({"lucas", "luca"})

# What follows a number that is not money: ages, times, durations, percentages.
NOT_MONEY_AFTER = frozenset(
    _w(
        """
    anos ano years year yo pm am hrs hr horas hora h o'clock oclock minutos minuto minutes
    minute min mins segundos seconds dias dia days day semanas weeks meses months km kg
    personas people veces times
    """
    )
)
NOT_MONEY_BEFORE = frozenset(_w("las at around numero number piso floor room cuarto"))

RECIPIENT_MARKERS_STRONG = frozenset({"a", "to"})
# "al Chuy": a capitalized name only ("al rato", "al mes" are not people).
RECIPIENT_MARKER_AL = "al"
# Who pays a money request: "request 20 from Alice".
PAYER_MARKERS = frozenset({"from", "de"})
# Between the names of a list: "Bob, Alice y Pedro", "Bob and Alice".
LIST_JOINERS = frozenset(_w("y e and & , plus"))
RECIPIENT_MARKERS_WEAK = frozenset({"para", "for"})
POSSESSIVES = frozenset({"mi", "my"})
TITLES = frozenset(
    _w(
        """
    don dona sr sra srta mr mrs ms dr dra tio tia uncle aunt senor senora profe
    """
    )
)
NAME_CONNECTORS = frozenset(_w("de del la las los van von da di"))

STOPWORDS = (
    frozenset(
        _w(
            """
    a al el la los las lo le les me te se nos un una unos unas de del por para con sin en
    que y o u pero mas ya hoy manana ahora ahorita luego despues porfa porfis porfavor favor
    gracias rapido urgente asap tambien otra otro otros otras vez mismo misma cuenta dinero
    plata lana feria efectivo cash money esto eso ese esa este esta aqui alli su sus tu tus
    nuestro quien cuanto cuando donde como the an of for with without in on at to from by
    and or but so it him her them us you this that these those now today tomorrow tonight
    later please pls plz thanks thx thank back again more same another real quick quickly
    right away via account who how when where what his their our your its i payment transfer
    pago transferencia envio deposito hola hi hello hey si yes ok okay
    """
        )
    )
    | PAY_VERBS
    | NUMBER_WORDS
    | frozenset(CURRENCY_WORDS)
)

GREETINGS = frozenset(
    _w(
        """
    hola holi holis buenas buenos buen hi hello hey hiya saludos good morning
    """
    )
)
CONFIRMATIONS = frozenset(
    _w(
        """
    si sip simon claro dale ok okay okey va vale sale listo confirmo confirmar confirmado
    correcto hazlo adelante yes yep yeah yup sure confirm confirmed
    """
    )
)
CONFIRM_PHRASES = frozenset(
    {"go ahead", "do it", "de acuerdo", "si confirmo", "si, confirmo", "yes please", "si porfa"}
)
CANCEL_WORDS = frozenset(
    _w(
        """
    cancela cancelar cancelalo cancelala cancel olvidalo olvidala nevermind stop detente
    """
    )
)
CANCEL_PHRASES = (
    "never mind", "forget it", "ya no", "mejor no", "no thanks", "no gracias", "no lo envies",
    "no lo mandes", "no lo pagues",
)  # fmt: skip
HELP_WORDS = frozenset(_w("ayuda help menu comandos commands instrucciones ayudame ayudeme"))
HELP_PHRASES = (
    "como funciona", "como te uso", "como se usa", "como envio", "como mando", "como pago",
    "como le mando", "como le envio", "como puedo", "que puedes hacer", "que haces",
    "how does this work", "how does it work", "how do i", "how can i", "what can you do",
    "how to send", "how to pay",
)  # fmt: skip
HISTORY_WORDS = frozenset(
    _w(
        """
    historial movimientos history transactions transacciones
    """
    )
)
BALANCE_WORDS = frozenset(_w("saldo balance fondos"))
BALANCE_PHRASES = (
    "cuanto me queda", "cuanto tengo", "cuanto dinero tengo", "how much do i have",
    "how much money do i have", "how much is left", "how much have i got", "what do i have left",
)  # fmt: skip
STATUS_WORDS = frozenset(_w("status estado estatus"))
STATUS_VERBS_EN = frozenset(_w("get receive arrive go"))
STATUS_PHRASES = (
    "le llego", "les llego", "ya llego", "lo recibio", "lo recibieron", "ya lo recibio",
    "ya le cayo", "le cayo", "se completo", "ya se envio", "que paso con mi pago",
    "que paso con el pago", "paso el pago", "did it arrive", "has it arrived", "did it go through",
    "did he get", "did she get", "did they get", "did he receive", "did she receive",
    "where is my payment", "where is my money", "where's my payment", "is it done",
    "went through", "get the money", "got the money", "recibio el dinero", "recibio mi pago",
)  # fmt: skip
FEE_WORDS = frozenset(_w("comision comisiones fee fees tarifa tarifas"))
FEE_PHRASES = (
    "cuanto cuesta enviar", "cuanto cuesta mandar", "cuanto cuesta transferir",
    "cuanto cuesta el envio", "cuanto cuesta usar", "cuanto cuesta pagar", "cuanto cobran",
    "cuanto me cobran", "cuanto cobras", "cuanto me cobras", "cuanto cuesta cada envio",
    "es gratis", "cuesta algo", "how much does it cost", "how much do you charge",
    "what does it cost", "is it free", "cost to send", "costs to send", "how much to send",
    "cobran algo", "cobran por", "me cobran", "cobras por", "charge for sending", "any charge",
)  # fmt: skip
THANKS_FILLERS = frozenset(
    _w(
        """
    muchas muchisimas mil many much you so very ok okay genial perfecto super great awesome
    buenisimo listo vale a lot lots de nuevo again amigo bro crack
    """
    )
)
THANKS_EMOJI = frozenset("👍🙏❤♥😊🙌👌💯🤝😁😀🥰")
LANGUAGE_NAMES: dict[str, str] = {
    "ingles": "en", "english": "en", "espanol": "es", "spanish": "es", "castellano": "es",
}  # fmt: skip
LANGUAGE_WORDS = frozenset(_w("idioma idiomas language languages lenguaje lang"))

HISTORY_PHRASES = (
    "mis pagos", "mis envios", "mis transferencias", "ultimos pagos", "ultimos envios",
    "my payments", "recent payments", "my transfers", "past payments", "cuanto he",
    "how much did i", "how much have i", "what did i send", "who did i pay", "a quien le pague",
    "cuanto le mande", "cuanto le envie", "cuanto le pague",
)  # fmt: skip
# "mándale otros 10": the recipient is the one of the previous payment.
REPEAT_WORDS = frozenset(
    _w(
        """
    otros otro otra otras again another more mas same mismo misma
    """
    )
)

SPANISH_HINTS = frozenset(
    _w(
        """
    le de para por mandale enviale envia manda paga pagale transfiere hola gracias quiero
    pesos dolares cuanto que mi la el los al y es con favor porfa buenos buenas dias tengo
    anos lucas varos otros otro ayuda historial cancela si dale no necesito puedes cobrale
    pidele cobra saldo estado idioma cada entre divide mes semana gracias comision cuesta ya
    mandas llego cuanto
    """
    )
)
ENGLISH_HINTS = frozenset(
    _w(
        """
    to the send pay please hi hello my for bucks dollars how what is was i you me at and
    with thanks want can transfer give need help history cancel yes it of am request from
    charge split between every week month status balance english please fees fee much did
    bill
    """
    )
)

# ---------------------------------------------------------------- the linked wallet (issue 17)
# "desvincular mi wallet": these verbs mean unlinking on their own.
UNLINK_VERBS = frozenset(
    _w(
        """
    desvincular desvincula desvinculala desvinculalo desvincule desvinculen desvincules
    desvincularla desvincularlo desvinculame desvincularme desvinculo unlink unlinking
    """
    )
)
# "quitar mi wallet", "disconnect my account": these mean it only before the wallet or account.
DETACH_VERBS = frozenset(
    _w(
        """
    quitar quita quitame quite quitala quitalo saca sacar sacame saque desconecta desconectar
    desconectame desconecte desconectala elimina eliminar eliminame elimine borra borrar
    borrame disconnect remove delete detach revoke revoca revocar
    """
    )
)
LINKED_THINGS = frozenset(
    _w(
        """
    wallet wallets billetera cartera cuenta account conexion connection vinculo link acceso
    access
    """
    )
)
# "cambiar mi límite", "set my allowance": the most the user lets Paguito spend.
LIMIT_WORDS = frozenset(_w("limite limites tope topes allowance limit limits cap"))
ALLOWANCE_PHRASES = (
    "cuanto puedo gastar", "cuanto me dejas gastar", "how much can i spend", "spending cap",
    "gasto maximo",
)  # fmt: skip
# "hasta 30 dólares por semana" (said about the limit): at most this much each period.
UP_TO_PHRASES = ("hasta", "up to", "no mas de", "maximo", "max", "at most", "no more than")
# "mis pagos programados", "my recurring payments": payments that repeat on their own.
SCHEDULE_WORDS = frozenset(
    _w(
        """
    programado programados programada programadas recurrente recurrentes automatico automaticos
    automatica automaticas domiciliacion domiciliaciones periodico periodicos scheduled
    recurring repeating automatic standing
    """
    )
)
