"""Django admin building blocks every app uses, scoped like the API.

* :class:`ScopedAdminMixin` — every changelist and object lookup is limited to the user's region
  subtree (an out-of-scope id is "does not exist"), foreign-key choices are limited the same way
  (by the related model's ``scope_field``, for the models that declare one), and the
  view/add/change rights come from the user's **role** (``read_roles`` / ``write_roles``), not
  from Django's per-model permissions. A role user still needs ``is_staff`` to log in.
* :class:`ServiceAdminForm` — the form's ``clean()`` calls the service, so the admin writes
  through the same rules as the API, and a :class:`DomainError` becomes a form error.
"""

from django import forms
from django.db import transaction

from core.exceptions import DomainError
from core.permissions import REGISTRY_READERS, REGISTRY_WRITERS, has_role
from core.scope import scope


class ScopedAdminMixin:
    """Region scope and role rights for a ModelAdmin (see the module docstring)."""

    scope_field = "region_code"
    read_roles: frozenset = REGISTRY_READERS
    write_roles: frozenset = REGISTRY_WRITERS

    def get_queryset(self, request):
        return scope(super().get_queryset(request), user=request.user, field=self.scope_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        scope_field = getattr(db_field.related_model, "scope_field", None)
        if field is not None and scope_field is not None:
            field.queryset = scope(field.queryset, user=request.user, field=scope_field)
        return field

    def has_module_permission(self, request):
        return has_role(request.user, self.read_roles)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, self.read_roles)

    def has_add_permission(self, request):
        return has_role(request.user, self.write_roles)

    def has_change_permission(self, request, obj=None):
        return has_role(request.user, self.write_roles)

    def has_delete_permission(self, request, obj=None):
        # Registry records are never deleted: history and payments refer to them.
        return False


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
