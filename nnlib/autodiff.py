"""Automatic differentiation on scalars: backpropagation as the chain rule over a graph.

After Karpathy's micrograd. A Value holds a number `data`, the Values it was computed
from, and after `backward()` the derivative of the final output with respect to itself,
`grad`. Each operation knows its local derivatives:

    c = a + b:   dc/da = 1,          dc/db = 1
    c = a * b:   dc/da = b,          dc/db = a
    c = tanh(a): dc/da = 1 - c^2
    c = exp(a):  dc/da = c

`backward()` sets the output's grad to 1 and visits the nodes in reverse topological
order (a node only after every node computed from it), each adding its grad times its
local derivatives to its inputs' grads: the chain rule, with a sum over the paths when a
node is used more than once.

Lesson 06 grades the student's own Value, so nnlib's is private (`_Value`): grading
removes it from the students' kernels. `value_and_grad` runs an expression on Values, and
`Program` describes an expression as data, for tests and graded cases.
"""

from __future__ import annotations

import math

import numpy as np

from nnlib._checks import as_array


class _Value:
    """A scalar node of a computation graph: `data`, `grad` and how it was computed."""

    def __init__(self, data, children=()):
        self.data = float(data)
        self.grad = 0.0
        self._children = tuple(children)
        self._backward = lambda: None

    def _lift(self, other):
        return other if isinstance(other, _Value) else _Value(other)

    def __add__(self, other):
        other = self._lift(other)
        out = _Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = self._lift(other)
        out = _Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __rmul__ = __mul__

    def tanh(self):
        out = _Value(math.tanh(self.data), (self,))

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = _Value(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def backward(self):
        """d(self)/d(node) into every node's grad, in reverse topological order."""
        order, seen = [], set()

        def visit(node):  # post-order: a node comes after everything it was computed from
            if node not in seen:
                seen.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def value_and_grad(expr, x):
    """The value of expr(x_1, ..., x_n) and its gradient, by backpropagation over Values.

    expr: a function of n Values built from +, *, tanh() and exp() (numbers allowed on
    either side of + and *), returning a Value; x: 1-D array of the n input values.
    Returns (value, grad): a float and d expr / d x, an array of x's shape.
    """
    x = as_array(x, "x", ndim=1)
    inputs = [_Value(v) for v in x]
    out = expr(*inputs)
    out.backward()
    return out.data, np.array([v.grad for v in inputs])


# An operation on earlier nodes i, j, or on node i and a number c on the right ("+c", "*c")
# or on the left ("c+", "c*").
_OPS = {
    "+": (lambda a, b: a + b, "{} + {}"), "*": (lambda a, b: a * b, "{} * {}"),
    "+c": (lambda a, c: a + c, "{} + {!r}"), "c+": (lambda a, c: c + a, "{1!r} + {0}"),
    "*c": (lambda a, c: a * c, "{} * {!r}"), "c*": (lambda a, c: c * a, "{1!r} * {0}"),
    "tanh": (lambda a: a.tanh(), "tanh({})"), "exp": (lambda a: a.exp(), "exp({})"),
}


class Program:
    """An expression as data: a straight-line program of `n_inputs` inputs, callable on
    Values (or anything with +, * and tanh(), exp() methods), returning its last node.

    Nodes 0..n_inputs-1 are the inputs; operation k makes node n_inputs + k from earlier
    nodes, so a node may be used by several later ones. Program(2, [("*", 0, 1), ("tanh", 2),
    ("+", 3, 0), ("c*", 4, 2.0)]) is 2 (tanh(x0 x1) + x0).

    `evaluations` limits how many times it may be called (None: no limit). Graded cases
    allow one: backpropagation needs a single forward pass, and a second call (finite
    differences, say) raises instead of quietly computing the gradient another way.
    """

    def __init__(self, n_inputs, ops, evaluations=None):
        self.n_inputs, self.ops = int(n_inputs), tuple(tuple(op) for op in ops)
        self.evaluations = evaluations
        for k, (name, *operands) in enumerate(self.ops):
            nodes = operands if name in ("+", "*") else operands[:1]
            if name not in _OPS or not all(0 <= i < self.n_inputs + k for i in nodes):
                raise ValueError(f"operation {k} {self.ops[k]} is not one of {', '.join(_OPS)} "
                                 f"on earlier nodes")

    def __call__(self, *inputs):
        if len(inputs) != self.n_inputs:
            raise TypeError(f"the program takes {self.n_inputs} inputs, got {len(inputs)}")
        if self.evaluations is not None:
            if self.evaluations < 1:
                raise RuntimeError(
                    "expr was already evaluated: call it once, on Values, and let backward() "
                    "find every derivative (evaluating it again, for finite differences say, "
                    "is not backpropagation)")
            self.evaluations -= 1
        nodes = list(inputs)
        for name, i, *rest in self.ops:
            second = [nodes[j] for j in rest] if name in ("+", "*") else rest
            nodes.append(_OPS[name][0](nodes[i], *second))
        return nodes[-1]

    def __repr__(self):
        names = [f"x{i}" for i in range(self.n_inputs)]
        lines = []
        for name, i, *rest in self.ops:
            operands = [names[j] for j in rest] if name in ("+", "*") else rest
            names.append(f"t{len(names)}")
            lines.append(f"{names[-1]} = " + _OPS[name][1].format(names[i], *operands))
        return "Program(" + "; ".join(lines) + ")"
