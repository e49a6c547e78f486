"""Which passwords are too easy to guess, for every role and for the CLI alike.

A password is refused when it is shorter than MIN_LENGTH, or when zxcvbn (Dropbox's
estimator, here its maintained Python port) rates it below MIN_SCORE. zxcvbn ships
its lists inside the package and works offline: the 30,000 most common passwords
of leaked password sets, English words, names and keyboard walks, plus the repeats
("aaaaaaaa"), sequences ("12345678", "abcdefgh"), dates and l33t spellings of
those. We add this product's own name and the user's e-mail and name, so
"haicang123" or "li.wei2024" count as trivia too.

MIN_SCORE 3 means zxcvbn estimates at least 10^8 guesses: far beyond what the
log-in rate limits allow online, and costly offline against argon2id hashes. No
rules about digits or capitals (NIST SP 800-63B): a few unrelated words pass.
"""
import threading

from zxcvbn import zxcvbn

from ..i18n import N_, message

MIN_LENGTH = 8
MIN_SCORE = 3
# zxcvbn refuses longer input (its cost grows fast with length). A longer password
# is judged by its first CHECKED_LENGTH characters: more characters never make a
# password easier to guess, so this errs on the strict side.
CHECKED_LENGTH = 72
# This product's name, and the demo password that earlier versions published.
PRODUCT_WORDS = ("haicang", "hai cang", "海仓", "haicang-demo")

# zxcvbn keeps the user inputs of a call in a module-level dictionary, so two
# threads checking at once could see each other's; one check at a time.
_lock = threading.Lock()


def _user_words(email: str, name: str) -> list[str]:
    words = list(PRODUCT_WORDS)
    email = (email or "").lower()
    if email:
        local, _at, domain = email.partition("@")
        words += [email, local, *local.replace("-", ".").replace("_", ".").split("."),
                  *domain.split(".")]
    if name:
        words += [name, *name.split()]
    return [w for w in dict.fromkeys(words) if len(w) >= 3]


# zxcvbn's warnings (its feedback.py), without their full stop: each has a translation,
# so the reason reads in the user's language. One it adds later stays English.
WARNINGS = {w: w for w in (
    N_("Straight rows of keys are easy to guess"),
    N_("Short keyboard patterns are easy to guess"),
    N_('Repeats like "aaa" are easy to guess'),
    N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc"'),
    N_('Sequences like "abc" or "6543" are easy to guess'),
    N_("Recent years are easy to guess"),
    N_("Dates are often easy to guess"),
    N_("This is a top-10 common password"),
    N_("This is a top-100 common password"),
    N_("This is a very common password"),
    N_("This is similar to a commonly used password"),
    N_("A word by itself is easy to guess"),
    N_("Names and surnames by themselves are easy to guess"),
    N_("Common names and surnames are easy to guess"),
)}


def problem(password: str, *, email: str = "", name: str = "") -> dict | None:
    """What is wrong with `password` for the user with this e-mail and name, as a
    stored message (for the `password` field, zxcvbn's warning translated with it),
    or None if it will do."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return message("must be at least %(n)s characters", n=MIN_LENGTH)
    with _lock:
        verdict = zxcvbn(password[:CHECKED_LENGTH], user_inputs=_user_words(email, name))
    if verdict["score"] >= MIN_SCORE:
        return None
    warning = ((verdict.get("feedback") or {}).get("warning") or "").rstrip(".")
    if not warning:
        return message("is too easy to guess (it is close to a common or leaked password, "
                       "a pattern, or your own name or e-mail); a few unrelated words make "
                       "a strong one")
    why = message(WARNINGS[warning]) if warning in WARNINGS else warning
    return message("is too easy to guess (%(why)s); a few unrelated words make a strong one",
                   why=why)
