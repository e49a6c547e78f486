"""Every door is declared (invariant 8): each view names the roles that may open
it, where it is defined, and one check (`enter`, run before every request by
server/auth/__init__.py) enforces the declarations. A view that declares nothing
is closed to everybody, so a forgotten declaration fails safe, and
tests/test_doors.py, generated from the URL map, fails the suite.

    @blp.route("/tasks")
    @roles_required("admin", "seller", "picker")
    def list_tasks(): ...

    @bp.route("/login")
    @public
    def login(): ...

Which rows a role then sees is the other half of the rule: scoping.scoped().
"""
ANY_ROLE = ("admin", "seller", "picker", "driver")
PUBLIC = ("public",)  # no log-in needed: the view checks what it needs itself


def roles_required(*roles):
    """Declare the roles that may call the view (none named: any logged-in user)."""
    declared = tuple(roles) or ANY_ROLE
    unknown = set(declared) - set(ANY_ROLE)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def declare(view):
        view._roles = declared
        return view
    return declare


def public(view):
    """Declare a view open without a log-in (log-in itself, a platform webhook that
    checks its own signature, the service worker, the API description)."""
    view._roles = PUBLIC
    return view


def signed_webhook(view):
    """Declare a platform's webhook: open without a log-in or a CSRF token, since
    the view checks the platform's signature over the raw body instead."""
    view._roles = PUBLIC
    view._signed = True
    return view


def declare_builtin(app, endpoint: str, declare) -> None:
    """Declare a view that a library registered (Flask's static files, the OpenAPI
    document of flask-smorest): its function is wrapped so the mark sits on it."""
    import functools
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = declare(functools.wraps(view)(
        lambda *args, **kwargs: view(*args, **kwargs)))


def declared_roles(view):
    """The roles a view declares, PUBLIC, or None when it declares nothing."""
    return getattr(view, "_roles", None)


def enter(view, user) -> str | None:
    """Whether `user` (None: nobody logged in) may open `view`: None if so, else
    "unauthenticated", "forbidden" or "undeclared"."""
    roles = declared_roles(view)
    if roles is None:
        return "undeclared"
    if roles == PUBLIC:
        return None
    if user is None:
        return "unauthenticated"
    if user.role not in roles:
        return "forbidden"
    return None
