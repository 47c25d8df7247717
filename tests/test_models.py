"""The models the command line builds: nn.GatedModel, and the shapes and memory estimate that
let a checkpoint be checked before any of its arrays is read."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.cli.errors import CLIError
from tinygrad_rnn.cli.models import build_model, check_sizes, parameter_shapes


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_parameter_shapes_are_those_build_model_allocates_in_its_order(kind):
    model = build_model(kind, 3, 5, 2)
    assert [(n, p.shape) for n, p in model.named_parameters()] == \
        list(parameter_shapes(kind, 3, 5, 2).items())


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gated_model_reads_out_every_step_and_returns_the_core_state(kind):
    model = nn.GatedModel(kind, 2, 4, 3, seed=0)
    ys, state = model(Tensor(np.ones((5, 2, 2))))
    assert ys.shape == (5, 2, 3)
    h = state[0] if kind == "lstm" else state
    np.testing.assert_allclose(ys.data[-1], h.data @ model.V.data.T + model.c.data)
    assert np.array_equal(model.readout(model.unroll(Tensor(np.ones((5, 2, 2))))).data, ys.data)


def test_gated_model_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be 'lstm' or 'gru'"):
        nn.GatedModel("rnn", 2, 4, 3)


def test_a_model_that_cannot_fit_is_refused_with_the_estimate_before_allocating():
    with pytest.raises(CLIError, match=r"needs about .* GiB of memory to train"):
        check_sizes("lstm", 1, 10**7, 1)
    with pytest.raises(CLIError, match="must be integers"):
        check_sizes("rnn", 1, 4.5, 1)
