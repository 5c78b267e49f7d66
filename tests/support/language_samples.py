"""Sentences of our own, with numbers, for judging each language by ear: (whisper language, job language, text)."""

SAMPLES = {
    "ja": ("ja", None, "今日は12月2日です。会議は午後3時に始まります。"),
    "zh": ("zh", None, "今天是12月2日。我们下午3点开会，一共有25个人。"),
    "es": ("es", "es", "Hola, me llamo Carlos. Tengo 3 hijos y el libro cuesta 12 €."),
    "fr": ("fr", "fr", "Bonjour, je m'appelle Marie. J'ai 3 enfants et nous habitons à Paris depuis 10 ans."),
    "it": ("it", "it", "Ciao, mi chiamo Marco. Ho 3 figli e viviamo a Roma da 10 anni."),
    "pt-br": ("pt", "pt-br", "Olá, meu nome é Ana. Tenho 3 filhos e moramos em São Paulo há 10 anos."),
    "hi": ("hi", None, "मेरे पास 25 किताबें हैं। आज मौसम बहुत अच्छा है।"),
    "en-gb": ("en", "en-gb", "The colour of the harbour was grey at 6 o'clock, and the theatre opened at 7."),
}
