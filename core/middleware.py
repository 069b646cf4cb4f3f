"""The app's own middleware: ``?lang=en`` picks the response language (after LocaleMiddleware read
Accept-Language); responses are never stored by a cache."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import add_never_cache_headers


class QueryLanguageMiddleware:
    """``?lang=en`` picks the response language, after LocaleMiddleware read Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.GET.get("lang")
        if lang in self.languages:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response of the app that does not say otherwise.

    Pages and API answers carry personal data (names, resident IDs, incomes, bank accounts): no
    browser cache, proxy or "back" button may keep a copy after the user signs out. Static
    files never reach this middleware (WhiteNoise answers them first) and keep their caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
