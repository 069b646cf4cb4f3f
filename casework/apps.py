from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("审核审批")

    def ready(self):
        from casework.api.filters import add_registry_filters

        add_registry_filters()
