"""Django admin building blocks every app uses, scoped like the API.

* :class:`PolicyAdminMixin` — the view/add/change rights of a ModelAdmin come from the one access
  rule (``core.policy``) for its ``resource``, not from Django's per-model permissions (nor from
  the superuser flag). A role user still needs ``is_staff`` to log in.
* :class:`ScopedAdminMixin` — that, and every changelist and object lookup is limited to the
  user's region subtree (an out-of-scope id is "does not exist"), foreign-key choices are
  limited the same way (by the related model's ``scope_field``, for the models that declare one).
* :class:`ServiceAdminForm` — the form's ``clean()`` calls the service, so the admin writes
  through the same rules as the API, and a :class:`DomainError` becomes a form error.
"""

from django import forms
from django.db import transaction

from core import policy
from core.exceptions import DomainError
from core.scope import scope


class PolicyAdminMixin:
    """A ModelAdmin's rights from ``core.policy`` for its ``resource``; nothing is deleted."""

    resource: str

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
