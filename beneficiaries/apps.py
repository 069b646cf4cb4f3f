from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BeneficiariesConfig(AppConfig):
    name = "beneficiaries"
    verbose_name = _("救助对象登记")

    def ready(self):
        from django.db.models.signals import post_migrate

        from core.dbroles import grant_after_migrate

        # The app's PostgreSQL role (DB_APP_ROLE) gets its grants after every migrate.
        post_migrate.connect(grant_after_migrate, dispatch_uid="doudi-app-role-grants")
