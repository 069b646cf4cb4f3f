from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BeneficiariesConfig(AppConfig):
    name = "beneficiaries"
    verbose_name = _("救助对象登记")

    def ready(self):
        from django.db.models.signals import post_migrate

        from beneficiaries.readlog import log_read
        from core.admin import log_reads_with
        from core.dbroles import grant_after_migrate

        # The admin's pages that show personal data write the read log (core.admin).
        log_reads_with(log_read)

        # The app's PostgreSQL role (DB_APP_ROLE) gets its grants after every migrate.
        post_migrate.connect(grant_after_migrate, dispatch_uid="doudi-app-role-grants")
