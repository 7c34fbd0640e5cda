"""Example texts the web page offers one click away: job ads and a CV, in two languages."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXAMPLES", "Example"]


@dataclass(frozen=True, slots=True)
class Example:
    """One example text.

    Attributes:
        key: A stable identifier (the page's button carries it).
        title: The button's label.
        language: The language of the text (not of the labels shown).
        text: The text itself.
    """

    key: str
    title: str
    language: str
    text: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        key="job-ad-developer",
        title="Job ad: software developer",
        language="en",
        text=(
            "Software developer (m/f/d), Python and SQL\n"
            "\n"
            "We are a growing logistics company and are hiring a software developer to build "
            "our route-planning platform.\n"
            "\n"
            "Your tasks:\n"
            "- Develop and maintain back-end services in Python\n"
            "- Design database schemas and write efficient SQL queries\n"
            "- Automate the migration of legacy data\n"
            "\n"
            "Your profile:\n"
            "- Several years of experience with Python; Java (computer programming) is a plus\n"
            "- Teamwork principles: you share knowledge and review code with your colleagues\n"
            "- Good communication in English\n"
        ),
    ),
    Example(
        key="cv-nurse",
        title="CV: nurse",
        language="en",
        text=(
            "Maria Lopez, registered nurse\n"
            "\n"
            "Experience\n"
            "2019-today: Community nurse, City Health Service. Provide nursing care to "
            "patients in their homes and in community settings; educate patients and "
            "families on the prevention of illness.\n"
            "2015-2019: Emergency department nurse, General Hospital. Triage and delegate "
            "emergency care; respond to changing situations in health care; apply hygiene "
            "procedures in hospitals.\n"
            "\n"
            "Skills\n"
            "Patient education, infection prevention, teamwork, English and Spanish.\n"
        ),
    ),
    Example(
        key="job-ad-data-scientist",
        title="Job ad: data scientist",
        language="en",
        text=(
            "Data scientist, research department\n"
            "\n"
            "You will build machine learning models and statistical analyses from our "
            "clinical research data. You normalise and prepare data, manage research data "
            "according to FAIR principles, and write technical documentation and academic "
            "papers together with our scientists.\n"
            "\n"
            "Requirements: a degree in statistics or mathematics, experience with "
            "mathematical modelling and computer simulation, Python and SQL.\n"
        ),
    ),
    Example(
        key="job-ad-cook-de",
        title="Stellenanzeige: Koch (Deutsch)",
        language="de",
        text=(
            "Koch / Köchin (m/w/d) in Vollzeit\n"
            "\n"
            "Für unser Restaurant suchen wir ab sofort eine engagierte Köchin oder einen "
            "engagierten Koch.\n"
            "\n"
            "Ihre Aufgaben:\n"
            "- Zubereitung von Speisen und Milchprodukten für unsere Gerichte\n"
            "- Lebensmittelsicherheit und Hygiene einhalten\n"
            "- Küchenbedarf annehmen, Lebensmittel fachgerecht lagern und Vorräte bestellen\n"
            "\n"
            "Ihr Profil: abgeschlossene Ausbildung als Koch, Kenntnisse in Ernährung, "
            "Teamfähigkeit.\n"
        ),
    ),
)
