"""Template context every page gets: the navigation of the signed-in user."""

from web.navigation import nav_links


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else ""
    return {"nav_links": nav_links(user=user, current=current)}
