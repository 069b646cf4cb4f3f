"""Django admin building blocks every app uses, scoped like the API.

* :class:`PolicyAdminMixin` — the view/add/change rights of a ModelAdmin come from the one access
  rule (``core.policy``) for its ``resource``, not from Django's per-model permissions (nor from
  the superuser flag). A role user still needs ``is_staff`` to log in. An admin whose pages show
  people's personal data names them in ``read_log_name``: each list page shown is one read-log
  entry (``<name>.admin_list``, its filter and the rows on the page), each change page one
  (``<name>.admin``, naming the record's household).
* :class:`ScopedAdminMixin` — that, and every changelist and object lookup is limited to the
  user's region subtree (an out-of-scope id is "does not exist"), foreign-key choices are
  limited the same way (by the related model's ``scope_field``, for the models that declare one).
* :class:`ServiceAdminForm` — the form's ``clean()`` calls the service, so the admin writes
  through the same rules as the API, and a :class:`DomainError` becomes a form error.
"""

from collections.abc import Callable
from operator import attrgetter

from django import forms
from django.db import transaction

from core import policy
from core.exceptions import DomainError
from core.scope import scope

# The read log's writer (``beneficiaries.readlog.log_read``): the log's table names households,
# a layer above core, so the registry app hands its writer in when it loads (``log_reads_with``).
_log_read: Callable | None = None

# Admin query parameters that do not change which rows are read: page, ordering, the popup and
# the filters remembered for the way back.
NOT_A_FILTER = frozenset({"p", "o", "_popup", "_to_field", "_changelist_filters", "lang"})


def log_reads_with(writer: Callable) -> None:
    """Set the function that records a read (called once, by the registry app's ``ready``)."""
    global _log_read
    _log_read = writer


class PolicyAdminMixin:
    """A ModelAdmin's rights from ``core.policy`` for its ``resource``; nothing is deleted.

    ``read_log_name`` (empty: the pages show no personal data) names what its pages read in the
    read log; ``read_household`` is the attribute path from a record to its household
    (``"household"``, ``"enrolment.household"``; None for a Household itself; "" for a record of
    no household).
    """

    resource: str
    read_log_name: str = ""
    read_household: str | None = "household"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = _shown(request, response, "cl")
        if self.read_log_name and changelist is not None:
            kept = request.GET.copy()
            for name in NOT_A_FILTER:
                kept.pop(name, None)
            _log_read(
                request=request,
                what=f"{self.read_log_name}.admin_list",
                rows=len(changelist.result_list),
                query=kept.urlencode(),
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        record = _shown(request, response, "original")
        if self.read_log_name and record is not None:
            path = self.read_household
            household = record if path is None else (attrgetter(path)(record) if path else None)
            _log_read(request=request, what=f"{self.read_log_name}.admin", household=household)
        return response

    def has_module_permission(self, request):
        return policy.allows(request.user, self.resource)

    def has_view_permission(self, request, obj=None):
        return policy.allows(request.user, self.resource)

    def has_add_permission(self, request):
        return policy.allows(request.user, self.resource, safe=False)

    def has_change_permission(self, request, obj=None):
        return policy.allows(request.user, self.resource, safe=False)

    def has_delete_permission(self, request, obj=None):
        # Records are never deleted: history and payments refer to them.
        return False


def _shown(request, response, name: str):
    """The context value ``name`` of a page the admin showed (a GET answered 200), else None."""
    if request.method != "GET" or response.status_code != 200:
        return None
    return (getattr(response, "context_data", None) or {}).get(name)


class ScopedAdminMixin(PolicyAdminMixin):
    """Region scope and the access rule for a ModelAdmin (see the module docstring)."""

    scope_field = "region_code"

    def get_queryset(self, request):
        return scope(super().get_queryset(request), user=request.user, field=self.scope_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        scope_field = getattr(db_field.related_model, "scope_field", None)
        if field is not None and scope_field is not None:
            field.queryset = scope(field.queryset, user=request.user, field=scope_field)
        return field


class ServiceAdminForm(forms.ModelForm):
    """A ModelForm saved by a service call made in ``clean()`` (``perform``)."""

    user = None  # set on the form class by ServiceAdminMixin.get_form

    def perform(self, data: dict):
        """Call the service with the cleaned data; return the saved instance."""
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            with transaction.atomic():
                self.instance = self.perform(data)
        except DomainError as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, str(error.message))
        return data

    def _post_clean(self):
        # The service validated and saved; the model's own checks would only repeat them.
        pass

    def save(self, commit=True):
        self.save_m2m = lambda: None
        return self.instance


class ServiceAdminMixin(ScopedAdminMixin):
    """A scoped ModelAdmin whose forms save through services."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        """Already saved by the service in the form's clean()."""
