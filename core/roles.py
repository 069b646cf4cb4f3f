"""The roles a staff user holds (``User.role``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("乡镇经办人")
    GRID_WORKER = "grid_worker", _("网格员")
    COUNTY_APPROVER = "county_approver", _("县级审批人")
    FINANCE = "finance", _("财务人员")
    AUDITOR = "auditor", _("审计人员")
    ADMIN = "admin", _("管理员")
