"""``?lang=en`` picks the response language, after LocaleMiddleware read Accept-Language."""

from django.conf import settings
from django.utils import translation


class QueryLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.GET.get("lang")
        if lang in self.languages:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)
