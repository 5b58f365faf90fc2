"""The question bank's shipped defaults, defined here once.

The bank (verification.callbacks.bank) copies them into its table the first time it is read, and
planning then draws from the table only; code that plans without a database (the unit tests,
bench/verification_power.py) passes these.
"""
from __future__ import annotations

from verification.callbacks.planning.inputs import Template

DEFAULT_TEMPLATES: tuple[Template, ...] = (
    # the seed's open questions: 请问张先生的工作单位(或家庭住址、做什么生意)?
    Template("open_employer", "open", "employer", "请问{who}的工作单位是哪里?", "Where does {who} work?"),
    Template("open_home_district", "open", "home_district", "请问{who}的家庭住址在哪个区?",
             "Which district does {who} live in?"),
    Template("open_business", "open", "business", "请问{who}是做什么生意的?", "What business is {who} in?"),
    # what a friend knows best after where someone lives: what they do for a living (职业)
    Template("open_occupation", "open", "occupation", "请问{who}是做什么工作的?", "What does {who} do for a living?"),
    # the seed's statement: 张先生是有一辆黑颜色的捷达轿车吗?
    Template("stmt_car", "statement", "car", "{who}是有一辆{value}轿车吗?", "{who} has a {value}, right?"),
    Template("stmt_model", "statement", "model", "{who}开的车是{value}吗?", "{who} drives a {value}, right?"),
    Template("stmt_colour", "statement", "colour", "{who}的车是{value}的吗?", "{who}'s car is {value}, right?"),
    Template("stmt_transmission", "statement", "transmission", "{who}的车是{value}的吗?",
             "{who}'s car is a {value}, right?"),
    Template("stmt_employer", "statement", "employer", "{who}是在{value}上班吗?", "{who} works at {value}, right?"),
    Template("stmt_home_district", "statement", "home_district", "{who}家是住在{value}吗?",
             "{who} lives in {value}, right?"),
    Template("stmt_business", "statement", "business", "{who}是{value}的吗?",
             "{who}'s business is {value}, right?"),
    Template("stmt_occupation", "statement", "occupation", "{who}的职业是{value}吗?",
             "{who} works as {value}, right?"),
)
