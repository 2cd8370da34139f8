"""Types of the conversion probe (maturin packs this file, and py.typed, into its wheel)."""

from typing import Any

def into_core(value: Any) -> None:
    """Converts ``value`` into a core value and drops it."""

def round_trip(value: Any) -> Any:
    """Converts ``value`` into a core value and back into Python objects."""
