"""The verification-code image. Bots must not solve it: a person answers it in a human task, and
tests read the answer through the admin endpoint. The image is noisy enough to look the part.
"""

from __future__ import annotations

import io
import random
import secrets

from PIL import Image, ImageDraw, ImageFont

# No 0/O, 1/I/L: the real platform avoids look-alikes too.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_answer(length: int = 4) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def captcha_png(answer: str) -> bytes:
    """Draw the characters with jitter, colours, lines and dots."""
    rng = random.Random(answer + secrets.token_hex(4))
    width, height = 120, 40
    image = Image.new("RGB", (width, height), (240, 244, 250))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    for _ in range(5):
        draw.line(
            [(rng.randint(0, width), rng.randint(0, height)), (rng.randint(0, width), rng.randint(0, height))],
            fill=(rng.randint(120, 200), rng.randint(120, 200), rng.randint(120, 200)),
            width=1,
        )
    for index, char in enumerate(answer):
        colour = (rng.randint(0, 150), rng.randint(0, 100), rng.randint(0, 150))
        draw.text((8 + index * 27 + rng.randint(-2, 2), rng.randint(2, 8)), char, fill=colour, font=font)
    for _ in range(120):
        draw.point(
            (rng.randint(0, width - 1), rng.randint(0, height - 1)),
            fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)),
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
