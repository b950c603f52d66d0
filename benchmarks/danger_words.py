"""Danger words: how long judging one patient message takes, per language, warm and cold.

python benchmarks/danger_words.py [--runs 5] [--number 200]

Prints the median time per message (µs) over the runs: a typical message once its words have
been seen (warm), the same with the word cache cleared first (cold), and a 4,096-character
message (Telegram's longest).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services.safety import load_safety

TYPICAL = {
    "en": "Hello, the redness is a bit better today but I still have some small bumps near my "
    "eyes. Can I put make-up on tomorrow? Thank you so much for your help!",
    "fr": "Bonjour, la rougeur va un peu mieux aujourd'hui mais j'ai encore des petits boutons "
    "près des yeux. Est-ce que je peux me maquiller demain ? Merci beaucoup !",
    "es": "Hola, el enrojecimiento está un poco mejor hoy pero todavía tengo granitos cerca de "
    "los ojos. ¿Puedo maquillarme mañana? ¡Muchas gracias!",
    "ru": "Здравствуйте, покраснение сегодня немного лучше, но ещё есть маленькие бугорки возле "
    "глаз. Можно ли завтра краситься? Большое спасибо!",
    "ar": "مرحبا، الاحمرار أفضل قليلا اليوم لكن ما زالت عندي حبوب صغيرة قرب العينين. هل يمكنني "
    "وضع المكياج غدا؟ شكرا جزيلا!",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()
    safety = load_safety()
    print(f"{'language':<9} {'warm µs':>9} {'cold µs':>9} {'4096 chars µs':>14}")
    for language, text in TYPICAL.items():
        long_text = (text + " ") * (4096 // (len(text) + 1))
        safety.match(text, language)
        warm = per_message(lambda t=text, lang=language: safety.match(t, lang), args, args.number)
        cold = []
        for _ in range(args.runs):
            fresh = load_safety()
            cold.append(timeit.timeit(partial(fresh.match, text, language), number=1) * 1e6)
        longest = per_message(partial(safety.match, long_text, language), args, 10)
        print(
            f"{language:<9} {statistics.median(warm):>9.1f} {statistics.median(cold):>9.1f} "
            f"{statistics.median(longest):>14.1f}"
        )


def per_message(call: Callable[[], object], args: argparse.Namespace, number: int) -> list[float]:
    return [t / number * 1e6 for t in timeit.repeat(call, number=number, repeat=args.runs)]


if __name__ == "__main__":
    main()
