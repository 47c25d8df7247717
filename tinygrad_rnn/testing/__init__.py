"""Testing helpers users can import: hypothesis strategies for shapes, arrays, per-op input
domains (`OP_INPUTS`) and random computation graphs.

    from hypothesis import given
    from tinygrad_rnn import REGISTRY, gradcheck
    from tinygrad_rnn.testing import op_inputs

    @given(op_inputs("Tanh"))
    def test_tanh(case):
        assert gradcheck(lambda *t: REGISTRY["Tanh"].apply(*t, **case.attrs), case.inputs())

The strategies need the `hypothesis` package (a dev dependency). They are loaded on first use,
so `tinygrad_rnn.testing.reference` and friends import without it.
"""

from typing import Any

__all__ = [
    "shapes", "broadcastable_shapes", "arrays", "tensors", "distinct_arrays", "axes", "indices",
    "away_from_zero", "positive", "OpCase", "OP_INPUTS", "op_inputs", "register_op_inputs",
    "join_outputs", "computation_graphs", "GraphProgram", "with_zeros", "scan_axis",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module 'tinygrad_rnn.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
