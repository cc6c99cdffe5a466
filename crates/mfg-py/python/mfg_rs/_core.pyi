"""Type stubs of the extension module ``mfg_rs._core`` (the public API is ``mfg_rs``)."""

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

__version__: str

def solve(
    config: Union[None, str, Mapping[str, Any]] = None,
    path: Optional[str] = None,
    sets: List[str] = ...,
    overrides: Optional[Mapping[str, Any]] = None,
    out: Optional[str] = None,
    format: str = "npy",
    progress: Optional[Callable[[int, float, float], Any]] = None,
    max_memory: Optional[int] = None,
) -> Dict[str, Any]: ...
def presets() -> List[Tuple[str, str]]: ...
