r"""The reference solver of :func:`logitreg.fit`: the problem as a cvxpy DCP model, solved by
Clarabel (``method="cvxpy"``).

The loss is Eq. 1 (binary: ``(1 - alpha) log(1 + e^{-t}) + alpha f(t)`` of the signed logit
``t``) or Eq. 6 (multiclass: ``(1 - alpha) CE(z, y) + alpha f(z)``), plus the optional
``(l2/2) |w|^2`` weight penalty. The built-in penalties map to cvxpy atoms directly
(``cp.square``, ``cp.logistic``, ``cp.log_sum_exp``). A sympy penalty ``f`` (or the ``g`` of
a separable multiclass ``f(z) = sum_k g(z_k)``) is translated atom by atom by
:func:`sympy_to_cvxpy`; cvxpy's DCP rules then certify convexity. A convex function that
the translation cannot express in DCP form (cvxpy has no atom for it) is refused with a
``ValueError`` naming the sub-expression; ``method="newton"`` and ``"lbfgs"`` take any
convex sympy penalty.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_cvxpy", "sympy_to_cvxpy"]


def _short(expr, n: int = 60) -> str:
    s = str(expr)
    return s if len(s) <= n else s[: n - 3] + "..."


def _exp_terms(arg, sym):
    """``arg`` as ``sum_i c_i exp(u_i)`` with constants ``c_i > 0``, or None.

    Constants are ``c exp(0)``; ``cosh(u) = (e^u + e^-u)/2``; the ``u_i`` are sympy
    expressions. Returns a list of ``(c_i, u_i)``.
    """
    import sympy as sp

    arg = sp.expand(arg.rewrite(sp.exp) if arg.has(sp.cosh) else arg)
    terms = []
    for term in sp.Add.make_args(arg):
        coeff, rest = term.as_independent(sym, as_Add=False)
        if not (coeff.is_number and coeff.is_positive):
            return None
        if rest == 1:
            terms.append((float(coeff), sp.S.Zero))
        elif isinstance(rest, sp.exp):
            terms.append((float(coeff), rest.args[0]))
        elif isinstance(rest, sp.Mul) and all(isinstance(f, sp.exp) for f in rest.args):
            terms.append((float(coeff), sp.Add(*(f.args[0] for f in rest.args))))
        else:
            return None
    return terms


def _abs_power(e):
    """``(u, p)`` if the product ``e`` equals ``|u|^p`` (factors ``u^(even)`` and
    ``|u|^q`` of one ``u``, as sympy writes ``Abs(z)**3 = z**2*Abs(z)`` for real z), else
    None."""
    import sympy as sp

    base, total = None, 0.0
    for f in e.args:
        b, q = f.as_base_exp()
        if not q.is_number:
            return None
        if isinstance(b, sp.Abs):
            b = b.args[0]
        elif not (float(q).is_integer() and int(q) % 2 == 0):
            return None
        if base is not None and b != base:
            return None
        base, total = b, total + float(q)
    return base, total


def sympy_to_cvxpy(expr, sym, t):
    """Translate a sympy expression of ``sym`` into a cvxpy expression of ``t``, elementwise.

    Parameters
    ----------
    expr : sympy.Expr
        A function of the single symbol ``sym``.
    sym : sympy.Symbol
    t : cvxpy.Expression of shape (n,)
        The values substituted for ``sym``.

    Returns
    -------
    cvxpy.Expression of shape (n,), ``expr`` evaluated at ``t``, built from DCP atoms:
    ``+``, constant ``*``, ``|.|``, powers, ``exp``, ``max``/``min``, ``cosh``,
    ``log(sum_i c_i e^{u_i})`` as a log-sum-exp (which covers ``log cosh z`` and the
    label-smoothing form ``log(2 + 2 cosh z)/2``) and ``sqrt(c + u^2)`` as a 2-norm.
    The caller checks the result with ``is_convex()``.

    Raises
    ------
    ValueError
        A sub-expression with no translation (named in the message).
    """
    import cvxpy as cp
    import sympy as sp

    def go(e):
        if e == sym:
            return t
        if e.is_number:
            return float(e)
        if isinstance(e, sp.Add):
            out = 0
            for a in e.args:
                out = out + go(a)
            return out
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_independent(sym, as_Add=False)
            if rest == e:  # a product of two non-constants: |u|^p written as z**2 * Abs(z)?
                power = _abs_power(e)
                if power is not None:
                    u, p = power
                    return cp.power(cp.abs(go(u)), p)
                raise ValueError(f"the product {_short(e)} has no DCP form")
            return float(coeff) * go(rest)
        if isinstance(e, sp.Abs):
            return cp.abs(go(e.args[0]))
        if isinstance(e, sp.exp):
            return cp.exp(go(e.args[0]))
        if isinstance(e, sp.cosh):
            u = go(e.args[0])
            return (cp.exp(u) + cp.exp(-u)) / 2
        if isinstance(e, (sp.Max, sp.Min)):
            atom = cp.maximum if isinstance(e, sp.Max) else cp.minimum
            parts = [go(a) for a in e.args]
            parts = [p if not isinstance(p, float) else p + 0 * t for p in parts]
            return atom(*parts)
        if isinstance(e, sp.log):
            terms = _exp_terms(e.args[0], sym)
            if terms is None:
                return cp.log(go(e.args[0]))
            if len(terms) == 1:
                c, u = terms[0]
                return np.log(c) + go(u)
            rows = [go(u) + np.log(c) for c, u in terms]
            rows = [r if not isinstance(r, float) else r + 0 * t for r in rows]
            return cp.log_sum_exp(cp.vstack(rows), axis=0)
        if isinstance(e, sp.Pow):
            base, p = e.args
            if not p.is_number:
                raise ValueError(f"the power {_short(e)} has a non-constant exponent")
            p = float(p)
            if p == 0.5 and isinstance(base, sp.Add):  # sqrt(c + u^2) = |(sqrt c, u)|
                c, rest = base.as_independent(sym, as_Add=True)
                if (c.is_number and c >= 0 and isinstance(rest, sp.Pow)
                        and rest.args[1] == 2):
                    u = go(rest.args[0])
                    return cp.norm(cp.vstack([np.sqrt(float(c)) + 0 * t, u]), 2, axis=0)
            b = go(base)
            if p == 2:
                return cp.square(b)
            if p.is_integer() and p > 0 and int(p) % 2 == 0:
                return cp.power(cp.abs(b), p)  # even: |b|^p, DCP for any affine b
            return cp.power(b, p)
        raise ValueError(f"{type(e).__name__} in {_short(e)} has no cvxpy translation")

    return go(expr)


def _penalty_sum(penalty, t, weights):
    """``sum_j s_j f(t_j)`` for a scalar sympy penalty, or None if ``penalty`` has no sympy
    form here. ``t`` (n,), ``weights`` (n,) or None."""
    import cvxpy as cp

    try:
        expr = penalty.symbolic
    except NotImplementedError:
        raise ValueError(f"method='cvxpy' needs the sympy form of reg={penalty!r}; give reg "
                         "as 'quadratic', 'ls' or a sympy expression") from None
    try:
        per = sympy_to_cvxpy(expr, penalty.z, t)
    except ValueError as e:
        raise ValueError(f"method='cvxpy' cannot express reg={_short(expr)} in cvxpy ({e}); "
                         "method='newton' or 'lbfgs' take any convex sympy penalty") from None
    if not per.is_convex():
        raise ValueError(f"method='cvxpy' cannot certify reg={_short(expr)} convex by cvxpy's "
                         "DCP rules (rewrite it with convex atoms, e.g. log(cosh z) rather "
                         "than a concave log of a sum); method='newton' or 'lbfgs' take any "
                         "convex sympy penalty")
    return cp.sum(per) if weights is None else weights @ per


def solve_cvxpy(obj, max_iter: int):
    """Minimise ``obj`` (a ``LinearObjective``, optionally with ``l2``) with Clarabel.

    Returns ``(theta, n_iter, converged, message)`` as the other methods of ``fit``.
    """
    import cvxpy as cp

    loss, A, N = obj.loss, obj.A, obj.N
    name = getattr(loss.penalty, "name", None)
    a = loss.alpha
    sw = obj.sample_weight  # (N,) of mean one, or None

    def total(per_sample):  # sum_i s_i v_i of an (N,) expression
        return cp.sum(per_sample) if sw is None else sw @ per_sample

    if obj.binary:
        theta = cp.Variable(obj.p)
        t = A @ theta
        if not a:
            pen = 0
        elif name == "quadratic":
            pen = total(cp.square(t))
        elif name == "ls":
            pen = total(cp.logistic(t) - t / 2)
        else:
            pen = _penalty_sum(loss.penalty, t, sw)
        expr = (1 - a) * total(cp.logistic(-t)) + a * pen
    else:
        K = obj.K
        # A shift-invariant f leaves the loss flat along W -> W + 1 u^T; parametrise the
        # class-centred representative (the one Newton returns), W = B V with B an
        # orthonormal basis of the sum-zero subspace, so the problem is well posed.
        centred = loss.penalty.shift_invariant
        B = np.linalg.svd(np.eye(K) - 1.0 / K)[0][:, : K - 1] if centred else np.eye(K)
        V = cp.Variable((B.shape[1], obj.p))
        theta = B @ V
        Z = A @ theta.T  # (N, K)
        lse = cp.log_sum_exp(Z, axis=1)
        zy = cp.sum(cp.multiply(Z, np.eye(K)[obj.y]), axis=1)
        if not a:
            pen = 0
        elif name == "quadratic":
            pen = (cp.sum_squares(Z) if sw is None
                   else cp.sum_squares(cp.multiply(np.sqrt(sw)[:, None], Z)))
        elif name == "ls":
            pen = total(lse - cp.sum(Z, axis=1) / K)
        elif hasattr(loss.penalty, "g"):  # separable: sum_k g(z_k) over every entry
            pen = _penalty_sum(loss.penalty.g, cp.vec(Z, order="F"),
                               None if sw is None else np.tile(sw, K))
        else:
            raise ValueError(f"method='cvxpy' supports the built-in penalties and sympy "
                             f"expressions; got reg={loss.penalty!r}")
        expr = (1 - a) * total(lse - zy) + a * pen
    objective = expr / N
    l2 = getattr(obj, "l2", 0.0)
    if l2:
        theta_w = theta[:-1] if obj.binary and obj.fit_intercept else (
            theta[:, :-1] if obj.fit_intercept else theta)
        objective = objective + 0.5 * l2 * cp.sum_squares(theta_w)
    prob = cp.Problem(cp.Minimize(objective))
    # Clarabel's exponential-cone iterations often end "optimal_inaccurate" when asked for
    # 1e-12; at 1e-8 they finish, and the objective is then accurate to ~1e-10 relative.
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-8, tol_gap_rel=1e-8, tol_feas=1e-8,
               max_iter=max_iter)
    if theta.value is None:
        return np.zeros(obj.size), 0, False, f"cvxpy/Clarabel failed: status {prob.status}"
    ok = prob.status == "optimal"
    return np.asarray(theta.value).ravel(), prob.solver_stats.num_iters or 0, ok, (
        f"cvxpy/Clarabel status: {prob.status}")
