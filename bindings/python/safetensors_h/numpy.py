"""The counterpart of the reference's safetensors.numpy: the same four
functions, so that `from safetensors.numpy import load_file, save_file`
becomes `from safetensors_h.numpy import load_file, save_file`."""
from . import load, load_file, save, save_file

__all__ = ["load", "load_file", "save", "save_file"]
