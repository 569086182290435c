from datetime import date

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils import timezone

from core.history_admin import AuditedAdmin

from .models import BenefitCategory, Member, MembershipPeriod, Plan, Scheme, WaitingPeriod
from .services import family_plan_change, member_today_sync


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
    actions = ["plan_change_selected"]

    def get_readonly_fields(self, request, obj=None):
        # Today's plan and status follow the periods once there are any: edit the periods instead.
        if obj is not None and obj.periods.exists():
            return (*super().get_readonly_fields(request, obj), "plan", "status", "status_since")
        return super().get_readonly_fields(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        member_today_sync(member_ids=[form.instance.id])

    @admin.action(description="Move the family to another plan option", permissions=["plan_change"])
    def plan_change_selected(self, request, queryset):
        """Asks for the plan option and the date it takes effect (an intermediate page, as Django's delete action
        does), then moves each selected family (a dependant stands for its family) in one transaction."""
        family_ids = {principal_id or id_ for id_, principal_id in queryset.values_list("id", "principal_id")}
        principals = list(
            Member.objects.filter(id__in=family_ids)
            .select_related("plan__scheme")
            .prefetch_related("periods", "dependants__periods")
            .order_by("membership_number", "dependant_code")
        )
        form = PlanChangeForm(request.POST if "confirm" in request.POST else None, principals=principals)
        if form.is_bound and form.is_valid():
            plan, effective_from = form.cleaned_data["plan"], form.cleaned_data["effective_from"]
            with transaction.atomic():  # every family moves, or (on any error) none does
                for principal in principals:
                    family_plan_change(principal=principal, plan=plan, effective_from=effective_from)
            families = "1 family" if len(principals) == 1 else f"{len(principals)} families"
            self.message_user(
                request, f"{families} moved to {plan} ({plan.code}) from {effective_from:%Y-%m-%d}.", messages.SUCCESS
            )
            return None
        if form.is_bound:
            self.message_user(request, "Nothing changed: see the reasons on the form.", messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": "Move these families to another plan option?",
            "opts": self.model._meta,
            "families": [(principal, 1 + len(principal.dependants.all())) for principal in principals],
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/members/member/plan_change.html", context)

    def has_plan_change_permission(self, request):
        # A plan change writes membership periods; the action is only as wide as that permission.
        return request.user.has_perm("members.change_membershipperiod")


def next_first_of_january() -> date:
    """A plan option is chosen per benefit year: by default a change takes effect when the next one starts."""
    return date(timezone.localdate().year + 1, 1, 1)


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, plan: Plan) -> str:
        return f"{plan.scheme.code}: {plan.name} {plan.year} ({plan.code})"


class PlanChangeForm(forms.Form):
    """The plan option and its first day for the selected families; refuses what the service would get wrong."""

    plan = PlanChoiceField(
        queryset=Plan.objects.select_related("scheme").order_by("scheme__code", "-year", "code"),
        label="Plan option",
    )
    effective_from = forms.DateField(
        initial=next_first_of_january,
        label="In force from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="usually 1 January: a plan option is chosen per benefit year",
    )

    def __init__(self, *args, principals: list[Member], **kwargs):
        super().__init__(*args, **kwargs)
        self.principals = principals

    def clean(self):
        cleaned = super().clean()
        plan, day = cleaned.get("plan"), cleaned.get("effective_from")
        if plan is None or day is None:
            return cleaned
        errors = []
        for principal in self.principals:
            if plan.scheme_id != principal.plan.scheme_id:
                errors.append(f"{principal}: {plan} is an option of another scheme than {principal.plan.scheme}.")
            # The family's cover starts with the principal's; a dependant who joins later takes the new
            # plan from its own first day (family_plan_change re-plans periods that start after the date).
            if day < principal.cover_start:
                errors.append(
                    f"{principal}: {day:%Y-%m-%d} is before the family's cover starts "
                    f"({principal.cover_start:%Y-%m-%d})."
                )
            without = [m for m in (principal, *principal.dependants.all()) if not m.periods.all()]
            if without:
                errors.append(
                    f"{principal}: {', '.join(map(str, without))} has no membership periods yet, so a change from a "
                    "date has nothing to split: add the history on the member's page first."
                )
        if errors:
            raise ValidationError(errors)
        return cleaned


@admin.register(WaitingPeriod)
class WaitingPeriodAdmin(admin.ModelAdmin):
    list_display = ("member", "kind", "icd10_prefix", "benefit_code", "start", "end")
    list_filter = ("kind", "benefit_code")
    search_fields = ("member__membership_number", "icd10_prefix")
    raw_id_fields = ("member",)
    list_select_related = ("member",)
    date_hierarchy = "start"
