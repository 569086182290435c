from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from core.history_admin import AuditedAdmin

from .models import BenefitCategory, Member, MembershipPeriod, Plan, Scheme, WaitingPeriod
from .services import member_today_sync


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class BenefitCategoryInline(admin.TabularInline):
    model = BenefitCategory
    extra = 0
    fields = (
        "code",
        "annual_limit_member",
        "annual_limit_family",
        "copay_percent",
        "per_event_cap",
        "requires_preauth",
    )


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = ("name", "code", "year", "scheme", "effective_from", "effective_to")
    list_filter = ("scheme", "year")
    search_fields = ("code", "name")
    list_select_related = ("scheme",)
    inlines = [BenefitCategoryInline]


@admin.register(BenefitCategory)
class BenefitCategoryAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = (
        "plan",
        "code",
        "annual_limit_member",
        "annual_limit_family",
        "copay_percent",
        "per_event_cap",
        "requires_preauth",
    )
    list_filter = ("code", "requires_preauth", "plan__year", "plan__scheme")
    search_fields = ("plan__name", "plan__code")
    list_select_related = ("plan",)


class DependantInline(admin.TabularInline):
    """The principal's dependants, to read; each is edited on its own page."""

    model = Member
    fk_name = "principal"
    extra = 0
    fields = ("dependant_code", "first_name", "last_name", "relationship", "date_of_birth", "status", "cover_end")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "dependants"

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WaitingPeriodInline(admin.TabularInline):
    model = WaitingPeriod
    extra = 0
    fields = ("kind", "icd10_prefix", "benefit_code", "start", "end")


class MembershipPeriodFormSet(BaseInlineFormSet):
    """Periods checked against each other as submitted, so one save can close a period and open the next."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.skip_overlap_check = True  # done below, over the rows as they will be
        return form

    def clean(self):
        super().clean()
        rows = sorted(
            (form.cleaned_data["valid_from"], form.cleaned_data.get("valid_to"))
            for form in self.forms
            if form.cleaned_data.get("valid_from") and not form.cleaned_data.get("DELETE")
        )
        for (_, end), (start, _) in zip(rows, rows[1:], strict=False):
            if end is None or end >= start:
                raise ValidationError(f"Two membership periods overlap (one from {start}): end one before the next.")


class MembershipPeriodInline(admin.TabularInline):
    """The member's cover over time (issue 13): the adjudication reads the period in force on the service date."""

    model = MembershipPeriod
    formset = MembershipPeriodFormSet
    extra = 0
    fields = ("valid_from", "valid_to", "status", "plan")
    ordering = ("valid_from",)
    verbose_name_plural = "membership periods (history of status and plan option)"


@admin.register(Member)
class MemberAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = (
        "__str__",
        "first_name",
        "last_name",
        "relationship",
        "plan",
        "status",
        "cover_start",
        "cover_end",
    )
    list_filter = ("status", "relationship", "plan__scheme", "plan")
    search_fields = ("membership_number", "last_name", "first_name")
    raw_id_fields = ("principal",)
    list_select_related = ("plan",)
    ordering = ("membership_number", "dependant_code")
    inlines = [MembershipPeriodInline, DependantInline, WaitingPeriodInline]

    def get_readonly_fields(self, request, obj=None):
        # Today's plan and status follow the periods once there are any: edit the periods instead.
        if obj is not None and obj.periods.exists():
            return (*super().get_readonly_fields(request, obj), "plan", "status", "status_since")
        return super().get_readonly_fields(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        member_today_sync(member_ids=[form.instance.id])


@admin.register(WaitingPeriod)
class WaitingPeriodAdmin(admin.ModelAdmin):
    list_display = ("member", "kind", "icd10_prefix", "benefit_code", "start", "end")
    list_filter = ("kind", "benefit_code")
    search_fields = ("member__membership_number", "icd10_prefix")
    raw_id_fields = ("member",)
    list_select_related = ("member",)
    date_hierarchy = "start"
