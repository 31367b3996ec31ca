"""nnlib.autodiff: the reference Value against PyTorch's autograd (float64) on random
programs with reused nodes, and Program's checks and description."""

import math

import numpy as np
import pytest
import torch

from nnlib.autodiff import Program, _Value, value_and_grad


class Tensorish:
    """A torch scalar with the interface a Program uses."""

    def __init__(self, t):
        self.t = t

    def __add__(self, other):
        return Tensorish(self.t + (other.t if isinstance(other, Tensorish) else other))

    __radd__ = __add__

    def __mul__(self, other):
        return Tensorish(self.t * (other.t if isinstance(other, Tensorish) else other))

    __rmul__ = __mul__

    def tanh(self):
        return Tensorish(torch.tanh(self.t))

    def exp(self):
        return Tensorish(torch.exp(self.t))


def random_program(rng, n_inputs, n_ops):
    ops = []
    for k in range(n_ops):
        nodes = n_inputs + k
        name = str(rng.choice(["+", "*", "+c", "c+", "*c", "c*", "tanh", "exp"]))
        i, j = (int(v) for v in rng.integers(nodes, size=2))
        if name == "exp":
            ops.append(("tanh", i))  # keeps every value small enough for exp
            ops.append(("exp", nodes))
        elif name in ("+", "*"):
            ops.append((name, i, j))
        elif name == "tanh":
            ops.append((name, i))
        else:
            ops.append((name, i, float(rng.uniform(-1.5, 1.5))))
    return Program(n_inputs, ops)


@pytest.mark.parametrize("seed", range(30))
def test_value_and_grad_agrees_with_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    program = random_program(rng, n, int(rng.integers(3, 25)))
    x = rng.uniform(-1, 1, n)
    value, grad = value_and_grad(program, x)
    t = torch.tensor(x, requires_grad=True)
    out = program(*[Tensorish(t[k]) for k in range(n)]).t
    (expected,) = torch.autograd.grad(out, t, allow_unused=True)
    assert math.isclose(value, out.item(), rel_tol=1e-12, abs_tol=1e-12)
    np.testing.assert_allclose(grad, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_a_node_used_twice_gathers_both_paths():
    """d/dx (x * x + x) = 2x + 1: the accumulation, not an overwrite."""
    value, grad = value_and_grad(Program(1, [("*", 0, 0), ("+", 1, 0)]), np.array([3.0]))
    assert value == 12.0 and grad.tolist() == [7.0]


def test_backward_waits_for_every_path_before_passing_a_gradient_on():
    """t = tanh(x) reaches the output directly and through exp(t): dt must hold both
    contributions before it reaches x."""
    x = 0.3
    value, grad = value_and_grad(Program(1, [("tanh", 0), ("exp", 1), ("+", 1, 2)]),
                                 np.array([x]))
    t = math.tanh(x)
    assert math.isclose(value, t + math.exp(t))
    assert math.isclose(grad[0], (1 + math.exp(t)) * (1 - t * t), rel_tol=1e-14)


def test_numbers_on_either_side():
    a = _Value(2.0)
    out = 3.0 * a + 1.0 + a * 0.5 + (2.0 + a)
    out.backward()
    assert out.data == 12.0 and a.grad == 4.5


def test_an_input_the_output_ignores_has_gradient_zero():
    _, grad = value_and_grad(Program(2, [("tanh", 0)]), np.array([0.5, 7.0]))
    assert grad[1] == 0.0


def test_program_describes_itself_and_refuses_bad_operations():
    program = Program(2, [("*", 0, 1), ("tanh", 2), ("c*", 3, 2.0)])
    assert repr(program) == "Program(t2 = x0 * x1; t3 = tanh(t2); t4 = 2.0 * t3)"
    with pytest.raises(ValueError, match="operation 0"):
        Program(1, [("+", 0, 1)])
    with pytest.raises(ValueError, match="operation 0"):
        Program(1, [("sin", 0)])
    with pytest.raises(TypeError, match="takes 2 inputs"):
        program(_Value(1.0))
