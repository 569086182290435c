"""`field__in_ids=[...]`: membership in a long list of integer IDs, as cheap as the database allows."""

from django.db.models import Field, ForeignObject, Lookup


@Field.register_lookup
@ForeignObject.register_lookup  # related fields keep their own registry
class InIds(Lookup):
    """`= ANY('{1,2,...}'::bigint[])` on PostgreSQL, a plain IN list elsewhere.

    With thousands of IDs, psycopg's client-side binding of an IN list (one placeholder per value,
    found by regular expression) costs more than the query itself; one array literal costs nothing.
    """

    lookup_name = "in_ids"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [int(value) for value in self.rhs]
        if not values:
            return "1 = 0", list(lhs_params)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, "{" + ",".join(map(str, values)) + "}"]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
