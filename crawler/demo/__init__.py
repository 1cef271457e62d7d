"""The bundled demo news site and the small server that serves it (also used by the tests)."""

from pathlib import Path

SITE = Path(__file__).parent / "pages"
