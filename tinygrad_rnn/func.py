"""Function transforms, as torch.func and JAX: jvp, vjp, hvp, jacobian and hessian.

`f` takes Tensors and returns a Tensor (or a tuple of them). Primals and tangents may be
Tensors or arrays; the transforms work on fresh float copies, so the caller's tensors and
their `.grad` are never touched.

Forward mode (`jvp`) pushes a tangent through each primitive's `jvp` rule as the forward pass
runs: one pass gives J·v. Reverse mode (`vjp`) records the graph and runs the backward rules:
one pass gives uᵀJ. Their duality, ⟨u, J v⟩ = ⟨Jᵀ u, v⟩, is what the tests check. `hvp` is
reverse over reverse: the gradient is built with create_graph=True, and ⟨∇f, v⟩ is
differentiated once more, so the Hessian of an n-parameter loss times v costs about two
backward passes, never n.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import STATE, _switched, grad
from .tensor import Tensor


def _fresh(x: Any, requires_grad: bool, what: str) -> Tensor:
    """A float copy of x (a Tensor or array-like) that is a new leaf."""
    data = x.data if isinstance(x, Tensor) else x
    array = np.array(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what}: primals must be numeric, got dtype {array.dtype}")
    if array.dtype.kind != "f":  # integers and booleans are differentiated as float64
        array = array.astype(np.float64)
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)


def _tuple(xs: Any) -> tuple:
    return tuple(xs) if isinstance(xs, (tuple, list)) else (xs,)


def _outputs(out: Any, what: str) -> tuple[Tensor, ...]:
    outs = _tuple(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{what}: f must return a Tensor or a tuple of Tensors, got "
                            f"{type(o).__name__}")
    return outs


def _like(value: Any, out: Any) -> Any:
    """One result for a single Tensor, a tuple for a tuple (the shape of f's output)."""
    return value if isinstance(out, (tuple, list)) else value[0]


def jvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Any, Any]:
    """(f(*primals), J·tangents) in one forward pass (forward mode), as torch.func.jvp.

    primals and tangents: a tuple (or one value) each, matching in shape. Each output's
    tangent is a Tensor of the output's shape (zeros for an output that does not depend on
    the primals).
    """
    primal_list, tangent_list = _tuple(primals), _tuple(tangents)
    if len(primal_list) != len(tangent_list):
        raise ValueError(f"jvp: {len(primal_list)} primals but {len(tangent_list)} tangents")
    if STATE.tangents is not None:
        raise RuntimeError("jvp: nested forward mode (jvp inside jvp) is not supported; "
                           "differentiate the inner jvp's output with reverse mode instead")
    xs = [_fresh(p, False, "jvp") for p in primal_list]
    table: dict[int, tuple[Any, np.ndarray]] = {}
    for i, (x, t) in enumerate(zip(xs, tangent_list)):
        dot = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=x.dtype)
        if dot.shape != x.shape:
            raise ValueError(f"jvp: tangent {i} has shape {dot.shape} but primal {i} has shape "
                             f"{x.shape}")
        table[id(x)] = (x, dot)
    with _switched(tangents=table):
        out = f(*xs)
    outs = _outputs(out, "jvp")
    dots = []
    for o in outs:
        entry = table.get(id(o))
        dot = entry[1] if entry is not None and entry[0] is o else np.zeros(o.shape, o.dtype)
        dots.append(Tensor(dot, dtype=dot.dtype))
    return _like(tuple(o.detach() for o in outs), out), _like(tuple(dots), out)


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """(f(*primals), vjp_fn), as torch.func.vjp: vjp_fn(cotangent) returns uᵀJ, one Tensor per
    primal (zeros for a primal f does not use). vjp_fn may be called any number of times."""
    xs = [_fresh(p, True, "vjp") for p in primals]
    out = f(*xs)
    outs = _outputs(out, "vjp")

    def vjp_fn(*cotangents: Any) -> tuple[Tensor, ...]:
        us = _tuple(cotangents[0]) if len(cotangents) == 1 and isinstance(out, (tuple, list)) \
            else cotangents
        if len(us) != len(outs):
            raise ValueError(f"vjp_fn: {len(us)} cotangents for {len(outs)} outputs")
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        if not live:
            return tuple(Tensor(np.zeros(x.shape, x.dtype), dtype=x.dtype) for x in xs)
        grads = grad([o for o, _ in live], xs, [u for _, u in live], retain_graph=True,
                     allow_unused=True)
        return tuple(Tensor(np.zeros(x.shape, x.dtype), dtype=x.dtype) if g is None else g
                     for x, g in zip(xs, grads))

    return _like(tuple(o.detach() for o in outs), out), vjp_fn


def _scalar(out: Any, what: str) -> Tensor:
    if not isinstance(out, Tensor) or out.data.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"{what}: f must return a one-element Tensor (a scalar loss), got "
                         f"{shape}")
    return out


def hvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Tensor, Any]:
    """(f(*primals), H·tangents) for a scalar f, as torch.func.hvp: reverse over reverse.

    The gradient g = ∇f is built with create_graph=True, then ⟨g, v⟩ is differentiated again,
    so the cost is about one forward and two backward passes whatever the number of
    parameters. Returns one Tensor per primal.
    """
    primal_list, tangent_list = _tuple(primals), _tuple(tangents)
    if len(primal_list) != len(tangent_list):
        raise ValueError(f"hvp: {len(primal_list)} primals but {len(tangent_list)} tangents")
    xs = [_fresh(p, True, "hvp") for p in primal_list]
    out = _scalar(f(*xs), "hvp")
    vs = []
    for i, (x, t) in enumerate(zip(xs, tangent_list)):
        v = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=x.dtype)
        if v.shape != x.shape:
            raise ValueError(f"hvp: tangent {i} has shape {v.shape} but primal {i} has shape "
                             f"{x.shape}")
        vs.append(v)
    zeros = tuple(Tensor(np.zeros(x.shape, x.dtype), dtype=x.dtype) for x in xs)
    if not out.requires_grad:
        return out.detach(), _like(zeros, primals)
    gs = grad(out, xs, create_graph=True, allow_unused=True)
    dot = None
    for g, v in zip(gs, vs):
        if g is not None and g.requires_grad:
            term = (g * v).sum()
            dot = term if dot is None else dot + term
    if dot is None:  # the gradient is constant: f is at most linear, its Hessian is 0
        return out.detach(), _like(zeros, primals)
    hs = grad(dot, xs, allow_unused=True)
    result = tuple(z if h is None else h for z, h in zip(zeros, hs))
    return out.detach(), _like(result, primals)


def jacobian(f: Callable[[Tensor], Tensor], x: Any, strategy: str = "reverse-mode") -> Tensor:
    """∂f/∂x of shape f(x).shape + x.shape (as torch.autograd.functional.jacobian).

    strategy="reverse-mode": one vjp per output element (cheap when the output is small);
    "forward-mode": one jvp per input element (cheap when the input is small).
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    x0 = _fresh(x, False, "jacobian")
    out_shape = _outputs(f(x0.detach()), "jacobian")[0].shape
    J = np.zeros(out_shape + x0.shape, x0.dtype)
    rows = J.reshape(int(np.prod(out_shape, dtype=int)), x0.data.size)
    if strategy == "forward-mode":
        for j in range(x0.data.size):
            e = np.zeros(x0.data.size, x0.dtype)
            e[j] = 1.0
            _, dot = jvp(f, (x0,), (e.reshape(x0.shape),))
            rows[:, j] = dot.data.reshape(-1)
        return Tensor(J, dtype=J.dtype)
    out, pullback = vjp(f, x0)
    for i in range(rows.shape[0]):
        u = np.zeros(rows.shape[0], x0.dtype)
        u[i] = 1.0
        (row,) = pullback(u.reshape(out_shape))
        rows[i] = row.data.reshape(-1)
    return Tensor(J, dtype=J.dtype)


def hessian(f: Callable[[Tensor], Tensor], x: Any) -> Tensor:
    """∂²f/∂x² of shape x.shape + x.shape for a scalar f: the gradient built once with
    create_graph=True, then one backward of each of its elements."""
    x0 = _fresh(x, True, "hessian")
    out = _scalar(f(x0), "hessian")
    H = np.zeros(x0.shape + x0.shape, x0.dtype)
    if not out.requires_grad:
        return Tensor(H, dtype=H.dtype)
    (g,) = grad(out, x0, create_graph=True, allow_unused=True)
    if g is None or not g.requires_grad:
        return Tensor(H, dtype=H.dtype)
    rows = H.reshape(x0.data.size, x0.data.size)
    flat = g.reshape(-1)
    for i in range(x0.data.size):
        (row,) = grad(flat[i], x0, retain_graph=True, allow_unused=True)
        if row is not None:
            rows[i] = row.data.reshape(-1)
    return Tensor(H, dtype=H.dtype)


def linearize_check(f: Callable[..., Any], primals: Sequence[Any], tangent: Sequence[Any],
                    cotangent: Any) -> tuple[float, float]:
    """(⟨u, J v⟩ by forward mode, ⟨Jᵀ u, v⟩ by reverse mode): equal for correct rules."""
    _, dot = jvp(f, tuple(primals), tuple(tangent))
    _, pullback = vjp(f, *primals)
    bars = pullback(cotangent)
    forward = float(np.vdot(np.asarray(cotangent), dot.data))
    reverse = float(sum(np.vdot(b.data, np.asarray(v)) for b, v in zip(bars, tangent)))
    return forward, reverse


__all__ = ["jvp", "vjp", "hvp", "jacobian", "hessian", "linearize_check"]
