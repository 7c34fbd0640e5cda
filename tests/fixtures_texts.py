"""Short texts shared by the batch (CLI) and extract_iter (library) tests."""

TEXTS = [
    "We are hiring a software developer. Python and SQL are required.",
    "We are looking for a cook to prepare food. Teamwork principles, communication.",
    "Experience with Java (computer programming) is a plus.",
    "Python developer. Teamwork principles, communication.",
    "",
    "Wir suchen einen Koch 😀. Python is nice.",
]
