"""States get the integer id Piriod's clients send (`State.number`), and the United
States get their states, so a US customer or supplier can have one."""

from django.db import migrations, models

CHILE = 152
UNITED_STATES = 840

# Chile's regions by their official number.
CHILE_REGION_NUMBERS = {
    "CL-TA": 1, "CL-AN": 2, "CL-AT": 3, "CL-CO": 4, "CL-VS": 5, "CL-LI": 6, "CL-ML": 7,
    "CL-BI": 8, "CL-AR": 9, "CL-LL": 10, "CL-AI": 11, "CL-MA": 12, "CL-RM": 13,
    "CL-LR": 14, "CL-AP": 15, "CL-NB": 16,
}

# The states and the District of Columbia, by their FIPS code.
US_STATES = [
    (1, "AL", "Alabama"), (2, "AK", "Alaska"), (4, "AZ", "Arizona"), (5, "AR", "Arkansas"),
    (6, "CA", "California"), (8, "CO", "Colorado"), (9, "CT", "Connecticut"),
    (10, "DE", "Delaware"), (11, "DC", "District of Columbia"), (12, "FL", "Florida"),
    (13, "GA", "Georgia"), (15, "HI", "Hawaii"), (16, "ID", "Idaho"), (17, "IL", "Illinois"),
    (18, "IN", "Indiana"), (19, "IA", "Iowa"), (20, "KS", "Kansas"), (21, "KY", "Kentucky"),
    (22, "LA", "Louisiana"), (23, "ME", "Maine"), (24, "MD", "Maryland"),
    (25, "MA", "Massachusetts"), (26, "MI", "Michigan"), (27, "MN", "Minnesota"),
    (28, "MS", "Mississippi"), (29, "MO", "Missouri"), (30, "MT", "Montana"),
    (31, "NE", "Nebraska"), (32, "NV", "Nevada"), (33, "NH", "New Hampshire"),
    (34, "NJ", "New Jersey"), (35, "NM", "New Mexico"), (36, "NY", "New York"),
    (37, "NC", "North Carolina"), (38, "ND", "North Dakota"), (39, "OH", "Ohio"),
    (40, "OK", "Oklahoma"), (41, "OR", "Oregon"), (42, "PA", "Pennsylvania"),
    (44, "RI", "Rhode Island"), (45, "SC", "South Carolina"), (46, "SD", "South Dakota"),
    (47, "TN", "Tennessee"), (48, "TX", "Texas"), (49, "UT", "Utah"), (50, "VT", "Vermont"),
    (51, "VA", "Virginia"), (53, "WA", "Washington"), (54, "WV", "West Virginia"),
    (55, "WI", "Wisconsin"), (56, "WY", "Wyoming"),
]  # fmt: skip


def seed(apps, schema_editor):
    state = apps.get_model("billing", "State")
    for code, number in CHILE_REGION_NUMBERS.items():
        state.objects.filter(code=code).update(number=CHILE * 1000 + number)
    for number, code, name in US_STATES:
        state.objects.update_or_create(
            code=f"US-{code}",
            defaults={"name": name, "country_id": "US", "number": UNITED_STATES * 1000 + number},
        )


def unseed(apps, schema_editor):
    apps.get_model("billing", "State").objects.filter(country_id="US").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0015_json_decimals"),
    ]

    operations = [
        migrations.AddField(
            model_name="state",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(seed, unseed),
    ]
