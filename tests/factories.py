import factory
from django.utils import timezone

from crm.models import Brand, Contact, Role, SecondaryEmail, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@crm.test")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.MARKETING
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    is_primary = False


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class SecondaryEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecondaryEmail

    contact = factory.SubFactory(ContactFactory)
    email = factory.Sequence(lambda n: f"alias{n}@example.org")
