from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("审核审批")

    def ready(self):
        from casework.api.filters import add_registry_filters
        from casework.parameters import COMPONENTS
        from casework.services.deadlines import recount_deadlines
        from rules.calendar import on_calendar_change
        from rules.parameters import register_component

        add_registry_filters()
        for component in COMPONENTS:
            register_component(component)
        on_calendar_change(recount_deadlines)
