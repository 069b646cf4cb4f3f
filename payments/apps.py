from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("资金发放")

    def ready(self):
        from casework.selectors import add_timeline_source
        from payments.timeline import payment_line_entries

        add_timeline_source(payment_line_entries)
