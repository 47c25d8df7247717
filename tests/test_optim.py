"""Optimizers follow PyTorch's update rules step by step (numbers from torch 2.13), keep the
parameters' dtype, skip parameters without a gradient, read Tensor gradients, bump versions,
refuse bad arguments with errors that name the optimizer, and gradient clipping works."""

import numpy as np
import pytest

import tinygrad_rnn.nn as nn
import tinygrad_rnn.optim as optim
from tinygrad_rnn import Tensor

START = [1.0, -2.0, 0.5]
GRADS = [[0.5, -1.0, 2.0], [-0.3, 0.2, 0.1], [1.5, 0.0, -0.7], [0.25, -0.5, 0.0]]

# The parameter after each of the four steps of GRADS from START, computed with torch 2.13
# (torch.optim.<name>([p], **kwargs), float64, CPU) by a script run once; not imported here.
OPTIMIZER_REFERENCE = [
    ('SGD', {'lr': 0.1}, [
        [0.95, -1.9, 0.3],
        [0.98, -1.92, 0.29],
        [0.83, -1.92, 0.36],
        [0.8049999999999999, -1.8699999999999999, 0.36],
    ]),
    ('SGD', {'lr': 0.1, 'momentum': 0.9}, [
        [0.95, -1.9, 0.3],
        [0.9349999999999999, -1.8299999999999998, 0.10999999999999996],
        [0.7715, -1.767, 0.00899999999999993],
        [0.5993499999999999, -1.6602999999999999, -0.0819000000000001],
    ]),
    ('SGD', {'lr': 0.05, 'momentum': 0.5, 'dampening': 0.3, 'weight_decay': 0.1}, [
        [0.97, -1.94, 0.3975],
        [0.962105, -1.91021, 0.34135875000000004],
        [0.9022901325, -1.888629265, 0.33659336937500006],
        [0.86047468328625, -1.8537286950725, 0.33303260226968756],
    ]),
    ('SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.01}, [
        [0.9031, -1.8062, 0.11904999999999999],
        [0.91707411, -1.75814822, -0.06258119500000002],
        [0.616721158191, -1.695186716382, -0.08382322122950003],
        [0.43355709806133713, -1.5418828417626742, -0.165838103791214],
    ]),
    ('SGD', {'lr': 0.1, 'momentum': 0.5, 'maximize': True}, [
        [1.05, -2.1, 0.7],
        [1.0450000000000002, -2.13, 0.8099999999999999],
        [1.1925000000000001, -2.145, 0.7949999999999999],
        [1.2912500000000002, -2.2025, 0.7875],
    ]),
    ('Adam', {'lr': 0.01, 'betas': (0.8, 0.9)}, [
        [0.9900000002, -1.9900000001, 0.49000000005],
        [0.9886355772749671, -1.985260946586585, 0.4831482799597797],
        [0.981938405361197, -1.981740069475538, 0.4808454545209701],
        [0.9757243960383678, -1.9762181443044438, 0.4790373036470967],
    ]),
    ('Adam', {'lr': 0.1, 'weight_decay': 0.1, 'amsgrad': True}, [
        [0.9000000016666666, -1.9000000008333333, 0.4000000004878049],
        [0.8613529972101512, -1.8336478015085491, 0.32807741462123635],
        [0.7909442502242412, -1.773264941746771, 0.2949501594351746],
        [0.7233150056315625, -1.7017398728880524, 0.2670337857067025],
    ]),
    ('Adam', {'lr': 0.05, 'maximize': True}, [
        [1.049999999, -2.0499999995000002, 0.54999999975],
        [1.0595749005291124, -2.0755513030047528, 0.5853200185319694],
        [1.0920283958561547, -2.095302534607915, 0.6005411151908177],
        [1.1227597586802598, -2.122631941084069, 0.6130093113830707],
    ]),
    ('AdamW', {'lr': 0.01}, [
        [0.9899000002, -1.9898000001, 0.48995000005],
        [0.9878860298941575, -1.9844907593990395, 0.48283700129360113],
        [0.9812965422257597, -1.9803420640024672, 0.47974449826170207],
        [0.9750521400067161, -1.974678148500836, 0.4772028845734253],
    ]),
    ('AdamW', {'lr': 0.1, 'weight_decay': 0.5, 'amsgrad': True, 'betas': (0.5, 0.7)}, [
        [0.8500000019999999, -1.800000001, 0.3750000005],
        [0.8159426805261886, -1.6839231916691892, 0.30844251648184723],
        [0.6952206729253112, -1.5870424763417736, 0.2993626685766615],
        [0.6067491194378053, -1.4588831225074819, 0.28757761539167165],
    ]),
    ('Adagrad', {'lr': 0.1}, [
        [0.90000000002, -1.90000000001, 0.400000000005],
        [0.9514495755539292, -1.9196116135218952, 0.3950062383108602],
        [0.8582441106595406, -1.9196116135218952, 0.42800455476467686],
        [0.8428939716643452, -1.87558906820949, 0.42800455476467686],
    ]),
    ('Adagrad', {'lr': 0.1, 'lr_decay': 0.5, 'weight_decay': 0.1,
                 'initial_accumulator_value': 0.2}, [
        [0.9198216274369869, -1.9062957428741534, 0.4022978369617662],
        [0.9376763432411441, -1.906783534694221, 0.3978522248864207],
        [0.8927296771200727, -1.8994201649645994, 0.4128292082330285],
        [0.8852116792847996, -1.880609487697921, 0.4120801366112521],
    ]),
    ('Adagrad', {'lr': 0.3, 'maximize': True, 'eps': 0.001}, [
        [1.2994011976047903, -2.2997002997002998, 0.7998500749625188],
        [1.145316723669256, -2.2409230949499936, 0.8148238824830449],
        [1.4247594810890074, -2.2409230949499936, 0.7158755777950828],
        [1.4707816402158411, -2.372874554117023, 0.7158755777950828],
    ]),
    ('RMSprop', {'lr': 0.01}, [
        [0.900000019999996, -1.900000009999999, 0.40000000499999977],
        [0.9516397890605408, -1.9197065936215374, 0.39498114911960397],
        [0.8583284389520147, -1.9197065936215374, 0.4282756222429998],
        [0.8428856979331831, -1.8751542696968688, 0.4282756222429998],
    ]),
    ('RMSprop', {'lr': 0.01, 'alpha': 0.9, 'centered': True}, [
        [0.9666666688888887, -1.9666666677777778, 0.4666666672222222],
        [0.9836304465232556, -1.973366919655039, 0.46491228128808865],
        [0.9521207450752026, -1.973366919655039, 0.4765194682359178],
        [0.9465941708462766, -1.9566775321662606, 0.4765194682359178],
    ]),
    ('RMSprop', {'lr': 0.01, 'momentum': 0.8, 'weight_decay': 0.1}, [
        [0.900000016666664, -1.9000000083333326, 0.4000000048780486],
        [0.8531832069419891, -1.8208375169996298, 0.3131524466902445],
        [0.7227924340472965, -1.7423580438447022, 0.2749015355790769],
        [0.5998247482435733, -1.6304627130805882, 0.24301067469113025],
    ]),
    ('RMSprop', {'lr': 0.02, 'centered': True, 'momentum': 0.5, 'alpha': 0.7, 'eps': 0.001,
                 'maximize': True}, [
        [1.0434539295506184, -2.043548547325995, 0.5435960108995924],
        [1.0439463283013026, -2.0563873530682004, 0.567889921695029],
        [1.0857938018333353, -2.062806755939303, 0.5636261464415355],
        [1.1148984527227646, -2.0932774312180067, 0.5614942588147888],
    ]),
]


def run(name, kwargs, dtype=np.float64, grad_as_tensor=False):
    """Apply GRADS[k] as the gradient at step k; return the parameter after each step."""
    p = nn.Parameter(START, dtype=dtype)
    opt = getattr(optim, name)([p], **kwargs)
    history = []
    for g in GRADS:
        g = np.array(g, dtype=dtype)
        p.grad = Tensor(g) if grad_as_tensor else g
        opt.step()
        history.append(p.data.copy())
    return history


@pytest.mark.parametrize("name, kwargs, expected", OPTIMIZER_REFERENCE,
                         ids=[f"{n}-{k}" for n, k, _ in OPTIMIZER_REFERENCE])
def test_each_optimizer_matches_pytorch_step_by_step(name, kwargs, expected):
    for step, (got, want) in enumerate(zip(run(name, kwargs), expected)):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15,
                                   err_msg=f"{name}({kwargs}) after step {step + 1}")


@pytest.mark.parametrize("name, kwargs, expected", OPTIMIZER_REFERENCE[::3])
def test_a_tensor_gradient_gives_the_same_step_as_an_array(name, kwargs, expected):
    """After backward(create_graph=True) p.grad is a Tensor; the optimizer reads its values."""
    for got, want in zip(run(name, kwargs, grad_as_tensor=True), run(name, kwargs)):
        np.testing.assert_array_equal(got, want, err_msg=f"{name}({kwargs})")


ALL = [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1}), ("AdamW", {"lr": 0.1}),
       ("Adagrad", {"lr": 0.5}), ("RMSprop", {"lr": 0.05, "centered": True, "momentum": 0.5})]


@pytest.mark.parametrize("name, kwargs", ALL)
def test_optimizers_keep_float32_parameters_and_state_float32(name, kwargs):
    p = nn.Parameter(START, dtype=np.float32)
    opt = getattr(optim, name)([p], **kwargs)
    for g in GRADS:
        p.grad = np.array(g, dtype=np.float32)
        opt.step()
    assert p.dtype == np.float32
    for key, value in opt.state[p].items():
        assert key == "step" or value.dtype == np.float32, f"{name} state {key}"


@pytest.mark.parametrize("name, kwargs", ALL)
def test_optimizers_minimise_a_quadratic(name, kwargs):
    target = np.array([1.0, -2.0, 3.0])
    p = nn.Parameter(np.zeros(3))
    opt = getattr(optim, name)([p], **kwargs)
    for _ in range(400):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=2e-2, err_msg=name)


def test_parameters_without_a_gradient_are_left_alone_and_have_no_state():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert list(opt.state_dict()["state"]) == [0]


def test_a_step_changes_the_parameter_in_place_and_bumps_its_version():
    p = nn.Parameter(np.ones(3))
    buffer, version = p.data, p._version
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    assert p.data is buffer and p._version == version + 1
    np.testing.assert_allclose(buffer, 0.9)


def test_a_step_never_changes_the_gradient_array():
    p = nn.Parameter(np.ones(3))
    grad = np.array([1.0, -2.0, 3.0])
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True),
                optim.RMSprop([p], centered=True, momentum=0.5), optim.AdamW([p])):
        p.grad = grad
        opt.step()
        opt.step()
        np.testing.assert_array_equal(grad, [1.0, -2.0, 3.0], err_msg=type(opt).__name__)


def test_step_with_a_closure_returns_its_loss_and_uses_the_gradients_it_makes():
    p = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.data) == 9.0
    np.testing.assert_allclose(p.data, [3.0 - 0.25 * 6.0])


def test_zero_grad_sets_none_by_default_or_zeroes_in_place():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=0.1)
    grad = np.ones(2)
    a.grad, b.grad = grad, Tensor(np.ones(2))
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and not grad.any()
    assert isinstance(b.grad, Tensor) and not np.asarray(b.grad).any()
    assert b.grad.grad_fn is None
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    read_only = np.ones(2)
    read_only.flags.writeable = False
    a.grad = read_only
    opt.zero_grad(set_to_none=False)
    assert not a.grad.any() and read_only.all()


def test_adamw_decays_the_weights_even_with_a_zero_gradient():
    p = nn.Parameter(np.array([2.0]))
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = np.zeros(1)
    opt.step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.5)])


def test_defaults_are_pytorchs():
    p = nn.Parameter([1.0])
    assert optim.SGD([p]).defaults["lr"] == 1e-3
    assert optim.Adam([p]).defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0.0, "amsgrad": False,
                                        "maximize": False}
    assert optim.AdamW([p]).defaults["weight_decay"] == 1e-2
    assert optim.Adagrad([p]).defaults["eps"] == 1e-10
    assert optim.RMSprop([p]).defaults["alpha"] == 0.99


def one():
    return [nn.Parameter([1.0])]


@pytest.mark.parametrize("make, error, fragment", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, "parameter 0 is a ndarray, not a Tensor"),
    (lambda: optim.SGD(Tensor([1.0], requires_grad=True)), TypeError, "single Tensor"),
    (lambda: optim.SGD({"params": one()}), TypeError, "wrap the dict in a list"),
    (lambda: optim.SGD(set(one())), TypeError, "ordered collection"),
    (lambda: optim.SGD([Tensor([1.0])], lr=0.1), ValueError, "requires_grad=True"),
    (lambda: optim.SGD([Tensor([1.0], requires_grad=True) * 2]), ValueError, "leaf"),
    (lambda: optim.SGD(one() * 2, lr=0.1), ValueError, "appears twice"),
    (lambda: optim.SGD([*one(), {"params": one()}]), TypeError, "mixes tensors and"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError, "needs a 'params' entry"),
    (lambda: optim.SGD(one(), lr=-1), ValueError, "SGD: lr must be a finite number >= 0, got -1"),
    (lambda: optim.SGD(one(), lr="0.1"), TypeError, "SGD: lr must be a finite number"),
    (lambda: optim.SGD(one(), momentum=-0.5), ValueError, "SGD: momentum must be"),
    (lambda: optim.SGD(one(), lr=0.1, nesterov=True), ValueError, "nesterov=True needs"),
    (lambda: optim.SGD(one(), momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "dampening = 0"),
    (lambda: optim.SGD(one(), maximize=1), TypeError, "SGD: maximize must be True or False"),
    (lambda: optim.SGD([{"params": one(), "lr": -0.1}]), ValueError,
     "SGD (parameter group 0): lr must be"),
    (lambda: optim.Adam(one(), betas=(0.9, 1.0)), ValueError, "Adam: betas must be two"),
    (lambda: optim.Adam(one(), betas=(0.9,)), ValueError, "betas"),
    (lambda: optim.Adam(one(), betas=(-0.1, 0.9)), ValueError, "betas"),
    (lambda: optim.Adam(one(), eps=-1e-8), ValueError, "Adam: eps must be"),
    (lambda: optim.AdamW(one(), weight_decay=-0.01), ValueError, "AdamW: weight_decay"),
    (lambda: optim.AdamW(one(), amsgrad="yes"), TypeError, "AdamW: amsgrad must be True"),
    (lambda: optim.Adagrad(one(), eps=float("nan")), ValueError, "Adagrad: eps"),
    (lambda: optim.Adagrad(one(), lr_decay=-1), ValueError, "Adagrad: lr_decay"),
    (lambda: optim.Adagrad(one(), initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: optim.RMSprop(one(), alpha=-0.9), ValueError, "RMSprop: alpha must be"),
    (lambda: optim.RMSprop(one(), momentum=float("inf")), ValueError, "RMSprop: momentum"),
    (lambda: optim.RMSprop(one(), centered=None), TypeError, "RMSprop: centered"),
])
def test_bad_optimizer_arguments_are_clear_errors(make, error, fragment):
    with pytest.raises(error) as info:
        make()
    assert fragment in str(info.value)


def test_repr_lists_each_group_and_its_hyperparameters():
    text = repr(optim.SGD([{"params": one()}, {"params": one(), "lr": 0.5}], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0 (1 parameters)")
    assert "Parameter Group 1" in text and "    lr: 0.5" in text


# ---------------------------------------------------------------------------------- clipping
def params_with_grads(*grads):
    out = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(g))
        p.grad = np.array(g, dtype=float)
        out.append(p)
    return out


def test_clip_grad_norm_returns_the_total_norm_and_scales_to_max_norm():
    params = params_with_grads([3.0, 0.0], [0.0, 4.0])
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    clipped = np.sqrt(sum(np.sum(p.grad ** 2) for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(params[0].grad / params[1].grad[1], [0.75, 0.0])


def test_clip_grad_norm_leaves_small_gradients_alone_and_supports_the_max_norm():
    params = params_with_grads([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(params, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, [0.3, -0.4])
    assert nn.utils.clip_grad_norm_(params, 1.0, norm_type=float("inf")) == pytest.approx(0.4)


def test_clip_grad_norm_reports_non_finite_norms():
    params = params_with_grads([np.inf, 1.0])
    assert nn.utils.clip_grad_norm_(params, 1.0) == np.inf
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_every_element():
    params = params_with_grads([-3.0, 0.5, 2.0])
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_(params, -1.0)
