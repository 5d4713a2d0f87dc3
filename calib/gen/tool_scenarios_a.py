# tool_scenarios_a.py: tool-calling scenarios (everyday assistant work), authored for reap.
# Each scenario is (function, cases): function(r, case) returns a {"messages", "tools"} record.
from conv import Conv, system_for

WEATHER_WORDS = ["clear sky", "light rain", "overcast", "partly cloudy", "showers", "fog", "sunny", "thunderstorms"]


def _f(c):
    return round(c * 9 / 5 + 32)


def weather_compare(r, case):
    a, b, units, why = case
    c = Conv(r, system_for(r))
    c.user(r.choice(["Is it warmer in {a} or {b} right now?", "What's the weather like in {a} and in {b} at the moment? {why}",
                     "Quick check: current conditions in {a} vs {b}? {why}"]).format(a=a, b=b, why=why))
    c.call(("get_current_weather", {"location": a, "units": units}), ("get_current_weather", {"location": b, "units": units}))
    ta, tb = r.randint(-5, 30), r.randint(-5, 30)
    if units == "imperial":
        ta, tb = _f(ta), _f(tb)
    wa, wb = r.choice(WEATHER_WORDS), r.choice(WEATHER_WORDS)
    u = "°F" if units == "imperial" else "°C"
    sp = "mph" if units == "imperial" else "km/h"
    ha, hb = r.randint(35, 95), r.randint(35, 95)
    va, vb = r.randint(2, 30), r.randint(2, 30)
    c.results({"location": a, "temperature": ta, "feels_like": ta - r.randint(0, 3), "conditions": wa, "humidity": ha, "wind_speed": va, "units": units},
              {"location": b, "temperature": tb, "feels_like": tb - r.randint(0, 3), "conditions": wb, "humidity": hb, "wind_speed": vb, "units": units})
    if ta == tb:
        cmp = "Both are at the same temperature"
    else:
        warm, cold, d = (a, b, ta - tb) if ta > tb else (b, a, tb - ta)
        cmp = f"{warm} is warmer by {d}{u}"
    c.say(f"Right now:\n\n- **{a}**: {ta}{u}, {wa}, humidity {ha}%, wind {va} {sp}\n- **{b}**: {tb}{u}, {wb}, humidity {hb}%, wind {vb} {sp}\n\n{cmp}.")
    return c.record()


WEATHER_CASES = [("Lisbon", "Oslo", "metric", "I'm deciding where to spend the weekend."),
                 ("Denver, US", "Phoenix, US", "imperial", "Flying out tonight."),
                 ("Tokyo", "Seoul", "metric", ""), ("Cape Town", "Nairobi", "metric", "Packing for a trip."),
                 ("Chicago", "Toronto", "imperial", ""), ("Madrid", "Athens", "metric", "Need to pick a jacket.")]


def forecast_hike(r, case):
    city, days, who = case
    c = Conv(r, system_for(r, 5))
    c.user(f"I want to go hiking near {city} some day in the next {days} days. Pick the driest day and put a 'Hike' block from 9 to 15 in my calendar{who}.")
    c.call(("get_weather_forecast", {"location": city, "days": days}),
           reasoning="First get the forecast, then choose the day with the lowest chance of rain, then create the event.")
    base = 15
    fc = []
    for i in range(days):
        fc.append({"date": f"2025-03-{base + i:02d}", "min": r.randint(2, 10), "max": r.randint(11, 22),
                   "precip_probability": r.choice([5, 10, 20, 35, 60, 80, 90]), "conditions": r.choice(WEATHER_WORDS)})
    c.results({"location": city, "units": "metric", "daily": fc})
    best = min(fc, key=lambda d: (d["precip_probability"], -d["max"]))
    args = {"title": "Hike", "start": best["date"] + "T09:00:00", "end": best["date"] + "T15:00:00",
            "location": city, "reminder_minutes": 60}
    if who:
        args["attendees"] = ["sam.lee@example.com"]
    c.call(("create_calendar_event", args),
           content=f"{best['date']} has the lowest chance of rain ({best['precip_probability']}%). Adding the event.")
    c.results({"event_id": "evt_" + "".join(r.choice("abcdef0123456789") for _ in range(10)), "status": "confirmed",
               "html_link": "https://calendar.example.com/e/" + best["date"].replace("-", "")})
    c.say(f"Done. The driest day is **{best['date']}** ({best['conditions']}, {best['min']}–{best['max']}°C, "
          f"{best['precip_probability']}% chance of rain). I added \"Hike\" from 09:00 to 15:00 with a reminder an hour before"
          + (" and invited Sam." if who else "."))
    return c.record()


FORECAST_CASES = [("Innsbruck", 5, ""), ("Boulder", 7, " and invite Sam (sam.lee@example.com)"),
                  ("Snowdonia", 4, ""), ("Lake Bled", 6, " and invite Sam (sam.lee@example.com)"), ("Queenstown", 3, "")]


def recipe_units(r, case):
    items, note = case
    c = Conv(r, system_for(r))
    lines = ", ".join(f"{v} {u}" for v, u, _t in items)
    c.user(f"My recipe uses {lines}. {note} Convert them to metric please.")
    c.call(*[("convert_units", {"value": v, "from_unit": u, "to_unit": t}) for v, u, t in items])
    factors = {("cup", "mL"): 236.588, ("oz", "g"): 28.3495, ("lb", "kg"): 0.453592, ("degF", "degC"): None,
               ("tbsp", "mL"): 14.7868, ("tsp", "mL"): 4.92892, ("fl_oz", "mL"): 29.5735, ("in", "cm"): 2.54,
               ("qt", "L"): 0.946353}
    outs, parts = [], []
    for v, u, t in items:
        f = factors[(u, t)]
        res = round((v - 32) * 5 / 9, 1) if f is None else round(v * f, 1)
        outs.append({"value": v, "from_unit": u, "result": res, "to_unit": t})
        parts.append(f"- {v} {u} → **{res:g} {t}**")
    c.results(*outs)
    c.say("Here are the conversions:\n\n" + "\n".join(parts))
    return c.record()


RECIPE_CASES = [([(2, "cup", "mL"), (8, "oz", "g"), (350, "degF", "degC")], "It's for a banana bread."),
                ([(1.5, "lb", "kg"), (3, "tbsp", "mL"), (425, "degF", "degC")], "Roast chicken tonight."),
                ([(12, "fl_oz", "mL"), (2, "tsp", "mL"), (9, "in", "cm")], "The 9 inch is the pan size."),
                ([(1, "qt", "L"), (4, "oz", "g")], ""),
                ([(0.75, "cup", "mL"), (375, "degF", "degC"), (1, "lb", "kg"), (2, "tbsp", "mL")], "Cookies!")]


def currency_error(r, case):
    amount, bad, good, target, rate = case
    c = Conv(r, system_for(r))
    c.user(f"How much is {amount} {bad} in {target}?")
    c.call(("convert_currency", {"amount": amount, "from_currency": bad, "to_currency": target}))
    c.results({"error": "unknown currency code", "code": bad, "hint": "use ISO 4217 codes"})
    c.call(("convert_currency", {"amount": amount, "from_currency": good, "to_currency": target}),
           content=f"\"{bad}\" isn't an ISO code; the currency is {good}. Retrying.")
    res = round(amount * rate, 2)
    c.results({"amount": amount, "from": good, "to": target, "rate": rate, "result": res, "date": "2025-03-14"})
    c.say(f"{amount:,} {good} is about **{res:,.2f} {target}** at today's reference rate ({rate} {target} per {good}).")
    return c.record()


CURRENCY_CASES = [(250, "YEN", "JPY", "EUR", 0.00617), (1200, "RMB", "CNY", "USD", 0.1381),
                  (80, "POUNDS", "GBP", "CHF", 1.1379), (5000, "RUPEES", "INR", "GBP", 0.00914),
                  (45.5, "EURO", "EUR", "USD", 1.0873), (300, "REAIS", "BRL", "EUR", 0.1594)]


def stats_calc(r, case):
    label, values, q = case
    c = Conv(r, system_for(r))
    c.user(f"Here are {label}: {', '.join(str(v) for v in values)}. {q}")
    c.call(("statistics_summary", {"values": values, "percentiles": [50, 90]}))
    vs = sorted(values)
    n = len(vs)
    mean = sum(vs) / n
    var = sum((v - mean) ** 2 for v in vs) / (n - 1)

    def pct(p):
        k = (n - 1) * p / 100
        lo = int(k)
        hi = min(lo + 1, n - 1)
        return vs[lo] + (vs[hi] - vs[lo]) * (k - lo)
    res = {"count": n, "mean": round(mean, 3), "std": round(var ** 0.5, 3), "min": vs[0], "max": vs[-1],
           "percentiles": {"50": round(pct(50), 3), "90": round(pct(90), 3)}}
    c.results(res)
    c.say(f"For the {n} values: mean **{res['mean']:g}**, median **{res['percentiles']['50']:g}**, "
          f"90th percentile **{res['percentiles']['90']:g}**, standard deviation {res['std']:g}, range {vs[0]:g}–{vs[-1]:g}.")
    return c.record()


STATS_CASES = [("page load times in ms", [312, 298, 1020, 345, 330, 287, 401, 366, 2950, 310], "Are there outliers?"),
               ("daily step counts", [8432, 10211, 6540, 12003, 9876, 7345, 11020], "What's typical?"),
               ("exam scores", [71, 88, 93, 65, 79, 84, 90, 58, 77, 82, 95, 69], "Summarise them."),
               ("API latencies (s)", [0.12, 0.15, 0.11, 0.98, 0.14, 0.13, 0.16, 0.12], "p90 please."),
               ("monthly electricity use in kWh", [310, 295, 280, 240, 210, 190, 205, 230, 260, 290, 320, 335], "")]


def equations(r, case):
    eqs, vars_, sol, story = case
    c = Conv(r, system_for(r))
    c.user(story)
    c.call(("solve_equation", {"equations": eqs, "variables": vars_}),
           reasoning="Translate the word problem into equations and let the solver do the algebra.")
    c.results({"solutions": [sol]})
    c.say("Setting it up as " + "; ".join(f"`{e}`" for e in eqs) + ", the solution is " +
          ", ".join(f"**{k} = {v}**" for k, v in sol.items()) + ".")
    return c.record()


EQUATION_CASES = [(["a + c = 120", "12*a + 7*c = 1165"], ["a", "c"], {"a": 65, "c": 55},
                   "A theatre sold 120 tickets: adults pay 12, children 7, and it took in 1165. How many of each?"),
                  (["x + y = 36", "x - y = 8"], ["x", "y"], {"x": 22, "y": 14}, "Two numbers add up to 36 and differ by 8. What are they?"),
                  (["2*w + 2*l = 54", "l = 2*w - 3"], ["w", "l"], {"w": 10, "l": 17},
                   "A rectangle's perimeter is 54 cm and its length is 3 less than twice the width. Dimensions?"),
                  (["x**2 - 5*x + 6 = 0"], ["x"], {"x": "2 or 3"}, "Solve x^2 - 5x + 6 = 0."),
                  (["p + q + s = 6", "p - q = 1", "q + s = 3"], ["p", "q", "s"], {"p": 3, "q": 2, "s": 1},
                   "Solve: p+q+s=6, p-q=1, q+s=3.")]


def time_zones(r, case):
    cities, ctx = case
    c = Conv(r, system_for(r))
    c.user(f"What time is it now in {', '.join(n for n, _ in cities[:-1])} and {cities[-1][0]}? {ctx}")
    c.call(*[("get_time", {"timezone": tz}) for _, tz in cities])
    offs = {"Asia/Tokyo": 9, "Europe/London": 0, "America/New_York": -4, "America/Los_Angeles": -7, "Asia/Kolkata": 5.5,
            "Australia/Sydney": 11, "Europe/Berlin": 1, "America/Sao_Paulo": -3, "Asia/Singapore": 8}
    base_h, base_m = r.randint(0, 23), r.choice([0, 7, 15, 22, 30, 41, 50])
    outs, lines = [], []
    for name, tz in cities:
        o = offs[tz]
        tot = (base_h * 60 + base_m + int(o * 60)) % (24 * 60)
        hh, mm = divmod(tot, 60)
        outs.append({"timezone": tz, "local_time": f"2025-03-14T{hh:02d}:{mm:02d}:00", "utc_offset": f"{'+' if o >= 0 else '-'}{int(abs(o)):02d}:{int(abs(o) * 60) % 60:02d}"})
        lines.append(f"- {name}: **{hh:02d}:{mm:02d}**")
    c.results(*outs)
    c.say("Current local times:\n\n" + "\n".join(lines))
    return c.record()


TZ_CASES = [([("Tokyo", "Asia/Tokyo"), ("London", "Europe/London"), ("New York", "America/New_York")], "Planning a call."),
            ([("San Francisco", "America/Los_Angeles"), ("Bangalore", "Asia/Kolkata")], ""),
            ([("Sydney", "Australia/Sydney"), ("Berlin", "Europe/Berlin"), ("São Paulo", "America/Sao_Paulo")], "Team standup."),
            ([("Singapore", "Asia/Singapore"), ("New York", "America/New_York")], "Is it too late to ping my colleague?"),
            ([("Berlin", "Europe/Berlin"), ("Kolkata", "Asia/Kolkata"), ("Tokyo", "Asia/Tokyo"), ("Los Angeles", "America/Los_Angeles")], "")]


def directions(r, case):
    place_a, place_b, mode = case
    c = Conv(r, system_for(r))
    c.user(f"How long does it take to get from {place_a} to {place_b} by {mode}?")
    c.call(("geocode", {"address": place_a}), ("geocode", {"address": place_b}),
           reasoning="Resolve both places to coordinates first, the router works best with coordinates.")
    la, lo = round(r.uniform(40, 52), 5), round(r.uniform(-3, 14), 5)
    lb, lob = round(la + r.uniform(-0.08, 0.08), 5), round(lo + r.uniform(-0.08, 0.08), 5)
    c.results({"results": [{"formatted": place_a, "lat": la, "lon": lo, "confidence": 0.97}]},
              {"results": [{"formatted": place_b, "lat": lb, "lon": lob, "confidence": 0.93}]})
    c.call(("get_directions", {"origin": f"{la},{lo}", "destination": f"{lb},{lob}", "mode": mode}))
    km = round(r.uniform(2, 14), 1)
    speed = {"walking": 4.8, "cycling": 16, "transit": 22, "driving": 28}[mode]
    mins = round(km / speed * 60)
    c.results({"distance_km": km, "duration_minutes": mins, "summary": r.choice(["via main road", "via the river path", "via the ring road"]),
               "warnings": [] if r.random() < 0.6 else ["Road works on part of the route"]})
    c.say(f"By {mode} it's about **{mins} minutes** ({km} km).")
    return c.record()


DIRECTIONS_CASES = [("Amsterdam Centraal", "Rijksmuseum", "walking"), ("Brandenburger Tor, Berlin", "Tempelhofer Feld", "cycling"),
                    ("Gare de Lyon, Paris", "Montmartre", "transit"), ("Munich Hauptbahnhof", "Allianz Arena", "driving"),
                    ("King's Cross, London", "Greenwich Park", "transit")]


def meeting_setup(r, case):
    people, dur, topic, day = case
    emails = [p.lower().replace(" ", ".") + "@acme.io" for p in people]
    c = Conv(r, system_for(r, 5))
    c.user(f"Find {dur} minutes on {day} with {', '.join(people)} for '{topic}', book it and email them the agenda.")
    c.call(("find_free_slots", {"attendees": emails, "duration_minutes": dur, "window_start": f"{day}T09:00:00",
                                "window_end": f"{day}T17:00:00", "working_hours_only": True}))
    slots = [f"{day}T{h:02d}:{m:02d}:00" for h, m in sorted(r.sample([(9, 30), (10, 0), (11, 0), (13, 30), (14, 0), (15, 30)], 3))]
    c.results({"slots": [{"start": s} for s in slots]})
    start = slots[0]
    h, m = int(start[11:13]), int(start[14:16])
    eh, em = divmod(h * 60 + m + dur, 60)
    end = f"{day}T{eh:02d}:{em:02d}:00"
    c.call(("create_calendar_event", {"title": topic, "start": start, "end": end, "attendees": emails, "location": "https://meet.acme.io/" + topic.lower().replace(" ", "-")}),
           content="The earliest common slot works; booking it.")
    c.results({"event_id": f"evt_{r.randint(10000, 99999)}", "status": "confirmed"})
    body = f"Hi all,\n\nI booked '{topic}' on {day} at {h:02d}:{m:02d} ({dur} min).\n\nAgenda:\n1. Context and goals\n2. Open questions\n3. Next steps and owners\n\nThanks!"
    c.call(("send_email", {"to": emails, "subject": f"{topic} – {day} {h:02d}:{m:02d}", "body": body}))
    c.results({"message_id": f"<{r.randint(100000, 999999)}@mail.acme.io>", "status": "sent"})
    c.say(f"Booked **{topic}** on {day} {h:02d}:{m:02d}–{eh:02d}:{em:02d} (the first slot everyone has free) and emailed the agenda to {', '.join(people)}.")
    return c.record()


MEETING_CASES = [(["Priya Shah", "Tom Becker"], 30, "Q2 roadmap", "2025-03-18"),
                 (["Ana Ruiz", "Li Wei", "Omar Haddad"], 45, "Incident review", "2025-03-19"),
                 (["Jonas Berg"], 60, "Onboarding plan", "2025-03-20"),
                 (["Chloe Martin", "Ravi Kumar"], 25, "Design sync", "2025-03-21"),
                 (["Eva Novak", "Sam Lee", "Kenji Sato"], 50, "Pricing experiment", "2025-03-24")]


def agenda_today(r, case):
    day, events = case
    c = Conv(r, system_for(r, 5))
    c.user(r.choice(["What's on my calendar {d}?", "Do I have anything {d}? Any gaps for deep work?"]).format(d="on " + day))
    c.call(("list_calendar_events", {"start": f"{day}T00:00:00", "end": f"{day}T23:59:59"}))
    c.results({"events": [{"title": t, "start": f"{day}T{s}:00", "end": f"{day}T{e}:00"} for t, s, e in events]})
    lines = [f"- {s}–{e} {t}" for t, s, e in events]
    gaps = []
    prev = "09:00"
    for t, s, e in events:
        if s > prev:
            gaps.append(f"{prev}–{s}")
        prev = max(prev, e)
    if prev < "17:00":
        gaps.append(f"{prev}–17:00")
    c.say(f"You have {len(events)} events on {day}:\n\n" + "\n".join(lines) +
          ("\n\nFree stretches within 9–17: " + ", ".join(gaps) + "." if gaps else "\n\nNo free time between 9 and 17."))
    return c.record()


AGENDA_CASES = [("2025-03-17", [("Standup", "09:30", "09:45"), ("1:1 with Mira", "11:00", "11:30"), ("Architecture review", "14:00", "15:30")]),
                ("2025-03-18", [("Dentist", "08:00", "09:00"), ("Sprint planning", "10:00", "12:00")]),
                ("2025-03-19", [("Customer call: Northwind", "13:00", "14:00")]),
                ("2025-03-20", [("Standup", "09:30", "09:45"), ("Hiring panel", "10:00", "11:00"), ("Lunch & learn", "12:00", "13:00"), ("Vendor demo", "15:00", "16:00"), ("Team retro", "16:00", "17:00")]),
                ("2025-03-21", [("Offsite prep", "09:00", "12:30"), ("Board deck review", "13:30", "15:00")])]


def email_todos(r, case):
    sender, subject, asks = case
    c = Conv(r, system_for(r, 5))
    c.user(f"Check for the latest unread email from {sender} and turn whatever they're asking me to do into todos.")
    c.call(("search_emails", {"query": f"from:{sender}", "unread_only": True, "limit": 1}))
    body = "Hi,\n\n" + "\n".join(f"- {a} by {d}" for a, d, _p in asks) + "\n\nThanks,\n" + sender.split("@")[0].title()
    c.results({"messages": [{"id": f"msg_{r.randint(1000, 9999)}", "from": sender, "subject": subject, "date": "2025-03-14T08:12:00Z", "body": body}]})
    c.call(*[("create_todo", {"title": a, "due_date": d, "priority": p, "tags": ["email", sender.split("@")[0]]}) for a, d, p in asks],
           content=f"The email \"{subject}\" has {len(asks)} requests. Creating todos.")
    c.results(*[{"id": f"todo_{r.randint(100, 999)}", "created": True} for _ in asks])
    c.say(f"Added {len(asks)} todos from \"{subject}\":\n\n" + "\n".join(f"- {a} (due {d}, priority {p})" for a, d, p in asks))
    return c.record()


EMAIL_TODO_CASES = [("maria@finance.example.com", "Quarter close", [("Send the expense reports", "2025-03-17", 1), ("Approve the travel budget", "2025-03-19", 2)]),
                    ("kai@legal.example.com", "Contract renewal", [("Review the MSA redlines", "2025-03-18", 1)]),
                    ("ops@vendor.example.net", "Maintenance window", [("Confirm the maintenance window", "2025-03-16", 2), ("Update the status page", "2025-03-20", 3), ("Notify on-call", "2025-03-20", 2)]),
                    ("lena@hr.example.com", "Performance reviews", [("Write self-assessment", "2025-03-28", 2), ("Submit peer feedback for Dan", "2025-03-26", 3)]),
                    ("boss@example.com", "Board meeting", [("Prepare the KPI slide", "2025-03-18", 1)])]


def translate_multi(r, case):
    text, langs, outs = case
    c = Conv(r, system_for(r))
    c.user(f"Translate \"{text}\" into {', '.join(langs[:-1])} and {langs[-1]}.")
    codes = {"German": "de", "French": "fr", "Spanish": "es", "Japanese": "ja", "Italian": "it", "Portuguese": "pt", "Dutch": "nl", "Polish": "pl"}
    c.call(*[("translate_text", {"text": text, "target_language": codes[l], "source_language": "en"}) for l in langs])
    c.results(*[{"translation": o, "detected_source_language": "en"} for o in outs])
    c.say("\n".join(f"- **{l}**: {o}" for l, o in zip(langs, outs)))
    return c.record()


TRANSLATE_CASES = [("Where is the train station?", ["German", "French", "Spanish"], ["Wo ist der Bahnhof?", "Où est la gare ?", "¿Dónde está la estación de tren?"]),
                   ("Thank you for your patience.", ["Japanese", "Italian"], ["ご辛抱いただきありがとうございます。", "Grazie per la pazienza."]),
                   ("The meeting is moved to Thursday.", ["Portuguese", "Dutch", "German"], ["A reunião foi transferida para quinta-feira.", "De vergadering is verplaatst naar donderdag.", "Das Meeting wurde auf Donnerstag verschoben."]),
                   ("Please keep the door closed.", ["Polish", "French"], ["Proszę zamykać drzwi.", "Veuillez garder la porte fermée."]),
                   ("Happy birthday!", ["Spanish", "Japanese", "Italian", "German"], ["¡Feliz cumpleaños!", "お誕生日おめでとう！", "Buon compleanno!", "Alles Gute zum Geburtstag!"])]


def wiki_question(r, case):
    title, summary, q, answer = case
    c = Conv(r, system_for(r))
    c.user(q)
    c.call(("wikipedia_summary", {"title": title, "sentences": 3}))
    c.results({"title": title, "extract": summary, "url": "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")})
    c.say(answer)
    return c.record()


WIKI_CASES = [("Ada Lovelace", "Augusta Ada King, Countess of Lovelace (1815–1852) was an English mathematician and writer, chiefly known for her work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine. She was the first to recognise that the machine had applications beyond pure calculation. Her notes include what is often recognised as the first algorithm intended to be carried out by such a machine.",
               "Who was Ada Lovelace and why is she famous?", "Ada Lovelace (1815–1852) was an English mathematician who wrote extensive notes on Charles Babbage's Analytical Engine. She saw that it could do more than arithmetic, and her notes contain what is often called the first computer program: an algorithm to compute Bernoulli numbers on the engine."),
              ("Rust (programming language)", "Rust is a general-purpose programming language emphasizing performance, type safety, and concurrency. It enforces memory safety without a garbage collector, using a borrow checker that tracks object lifetimes at compile time. Rust was originally designed by Graydon Hoare at Mozilla Research; the first stable release, Rust 1.0, was published in May 2015.",
               "When did Rust 1.0 come out and what's special about the language?", "Rust 1.0 was released in **May 2015**. Its distinguishing feature is memory safety without a garbage collector: the compiler's borrow checker tracks ownership and lifetimes, so data races and use-after-free bugs are rejected at compile time while performance stays comparable to C and C++."),
              ("Great Barrier Reef", "The Great Barrier Reef is the world's largest coral reef system, composed of over 2,900 individual reefs and 900 islands stretching for over 2,300 kilometres over an area of approximately 344,400 square kilometres. It is located in the Coral Sea, off the coast of Queensland, Australia.",
               "How big is the Great Barrier Reef?", "It stretches for more than **2,300 km** along the coast of Queensland and covers about **344,400 km²**, made up of over 2,900 individual reefs and 900 islands—the largest coral reef system in the world."),
              ("Kubernetes", "Kubernetes is an open-source container orchestration system for automating software deployment, scaling, and management. Originally designed by Google, the project is now maintained by the Cloud Native Computing Foundation. It was first released in 2014.",
               "who maintains kubernetes these days?", "Kubernetes was originally designed at Google and first released in 2014; today it is maintained by the **Cloud Native Computing Foundation (CNCF)** as an open-source project."),
              ("Marie Curie", "Marie Salomea Skłodowska-Curie (1867–1934) was a Polish and naturalised-French physicist and chemist who conducted pioneering research on radioactivity. She was the first woman to win a Nobel Prize, the first person to win a Nobel Prize twice, and the only person to win a Nobel Prize in two scientific fields.",
               "What Nobel prizes did Marie Curie win?", "Marie Curie won two Nobel Prizes, in two different sciences: Physics (1903, shared, for research on radioactivity) and Chemistry (1911, for discovering polonium and radium). She was the first woman to win a Nobel Prize and is still the only person to win in two scientific fields.")]


def travel_plan(r, case):
    org, dst, city, d1, d2, pax, budget = case
    c = Conv(r, system_for(r))
    c.user(f"I'm flying {org} to {dst} on {d1}, back {d2}, {pax} {'person' if pax == 1 else 'people'}. Find the cheapest nonstop and a hotel in {city} under {budget} EUR a night with wifi.")
    c.call(("search_flights", {"origin": org, "destination": dst, "date": d1, "return_date": d2, "passengers": pax, "cabin": "economy", "max_stops": 0}),
           ("search_hotels", {"city": city, "check_in": d1, "check_out": d2, "guests": pax, "max_price_per_night": budget, "amenities": ["wifi"]}),
           reasoning="Flights and hotel are independent, so search both at once.")
    airlines = r.sample(["Lufthansa", "KLM", "Iberia", "TAP", "easyJet", "Air France", "SAS", "Vueling"], 3)
    offers = sorted([{"airline": a, "price_eur": r.randint(90, 420) * pax, "depart": f"{d1}T{r.randint(6, 20):02d}:{r.choice(['05', '25', '40', '55'])}", "stops": 0} for a in airlines], key=lambda o: o["price_eur"])
    hotels = [{"name": n, "price_per_night": round(r.uniform(budget * 0.5, budget * 0.98)), "rating": round(r.uniform(7.2, 9.4), 1)} for n in r.sample(["Hotel Aurora", "Casa Verde", "The Linden", "Harbour Inn", "Stadtblick", "Maison Claire"], 3)]
    c.results({"offers": offers}, {"hotels": hotels})
    h = max(hotels, key=lambda x: (x["rating"], -x["price_per_night"]))
    f = offers[0]
    c.say(f"Cheapest nonstop: **{f['airline']}** for {f['price_eur']} EUR total, departing {f['depart'][11:]} on {d1}.\n\n"
          f"Hotel: **{h['name']}**, {h['price_per_night']} EUR/night, rated {h['rating']} (best rated of the {len(hotels)} under your budget with wifi).")
    return c.record()


TRAVEL_CASES = [("BER", "LIS", "Lisbon", "2025-05-02", "2025-05-06", 2, 150), ("AMS", "BCN", "Barcelona", "2025-04-11", "2025-04-14", 1, 120),
                ("MUC", "CPH", "Copenhagen", "2025-06-20", "2025-06-23", 2, 180), ("CDG", "FCO", "Rome", "2025-09-05", "2025-09-09", 3, 200),
                ("VIE", "ATH", "Athens", "2025-07-01", "2025-07-08", 2, 110)]


def shop_refund(r, case):
    oid, item, price, qty, reason, partial, complaint = case
    c = Conv(r, system_for(r, 6))
    c.user(f"Hi, order {oid}: {complaint} I'd like my money back.")
    c.call(("lookup_order", {"order_id": oid, "include_items": True}))
    total = round(price * qty, 2)
    c.results({"order_id": oid, "status": "delivered", "currency": "EUR", "total": total + 4.95, "shipping": 4.95,
               "items": [{"sku": f"SKU-{r.randint(1000, 9999)}", "name": item, "unit_price": price, "quantity": qty}]})
    amt = round(price * partial, 2)
    first = amt + 10 if r.random() < 0.5 else None
    if first:
        c.call(("issue_refund", {"order_id": oid, "amount": first, "reason": reason, "notify_customer": True}))
        c.results({"error": "refund amount exceeds refundable amount for the affected items", "max_refundable": amt})
        c.call(("issue_refund", {"order_id": oid, "amount": amt, "reason": reason, "notify_customer": True}),
               content="I entered too much; correcting the amount to the item price.")
    else:
        c.call(("issue_refund", {"order_id": oid, "amount": amt, "reason": reason, "notify_customer": True}))
    c.results({"refund_id": f"RF-{r.randint(100000, 999999)}", "amount": amt, "status": "processing", "expected_days": 5})
    c.say(f"I'm sorry about the {item}. I've issued a refund of **{amt:.2f} EUR** for order {oid}; it will reach your original payment method within about 5 business days, and you'll get a confirmation email.")
    return c.record()


REFUND_CASES = [("ORD-10293", "ceramic mug set", 24.90, 1, "damaged", 1, "the mugs arrived broken."),
                ("ORD-22817", "wireless mouse", 19.99, 2, "wrong_item", 1, "I got a wired mouse instead of the wireless one (I ordered two, one is wrong)."),
                ("ORD-30551", "running shoes", 89.00, 1, "not_received", 1, "tracking says delivered but nothing came."),
                ("ORD-41100", "phone case", 12.50, 3, "customer_request", 2, "I ordered three cases by mistake, I only need one."),
                ("ORD-57702", "desk lamp", 39.95, 1, "damaged", 1, "the lamp flickers and the switch is cracked.")]


def crm_email(r, case):
    name, company, topic = case
    c = Conv(r, system_for(r))
    c.user(f"Email {name} from {company} a short note following up on {topic}.")
    c.call(("crm_find_contact", {"query": f"{name} {company}", "limit": 3}))
    email = name.split()[0].lower() + "@" + company.lower().replace(" ", "") + ".com"
    if r.random() < 0.4:
        c.results({"contacts": []})
        c.call(("crm_find_contact", {"query": company, "limit": 5}), content="No exact match; searching by company only.")
    c.results({"contacts": [{"name": name, "company": company, "email": email, "title": r.choice(["CTO", "Head of Procurement", "VP Engineering", "Operations Lead"])}]})
    body = f"Hi {name.split()[0]},\n\nFollowing up on {topic}. Do you have time for a short call next week to go over the open points?\n\nBest regards"
    c.call(("send_email", {"to": [email], "subject": f"Follow-up: {topic}", "body": body}))
    c.results({"status": "sent"})
    c.say(f"Sent a follow-up about {topic} to {name} ({email}).")
    return c.record()


CRM_CASES = [("Helen Park", "Northwind", "the pilot pricing"), ("Marco Rossi", "Bluefin Logistics", "last week's demo"),
             ("Aisha Bello", "Greenfield Energy", "the security questionnaire"), ("Daniel Kim", "Orbit Labs", "the renewal quote"),
             ("Sofia Lind", "Nordic Textiles", "the integration timeline")]


def stock_portfolio(r, case):
    holdings = case
    c = Conv(r, system_for(r))
    c.user("What is my portfolio worth right now? " + ", ".join(f"{n} {s}" for s, n in holdings) + ".")
    c.call(*[("get_stock_quote", {"symbol": s}) for s, _ in holdings])
    prices = {s: round(r.uniform(20, 600), 2) for s, _ in holdings}
    c.results(*[{"symbol": s, "price": prices[s], "currency": "USD", "change_pct": round(r.uniform(-3, 3), 2)} for s, _ in holdings])
    expr = " + ".join(f"{n} * {prices[s]}" for s, n in holdings)
    c.call(("calculator", {"expression": expr}))
    tot = round(sum(n * prices[s] for s, n in holdings), 2)
    c.results({"result": tot})
    c.say("Current value: **${:,.2f}**\n\n".format(tot) + "\n".join(f"- {s}: {n} × ${prices[s]:.2f} = ${n * prices[s]:,.2f}" for s, n in holdings))
    return c.record()


STOCK_CASES = [[("AAPL", 10), ("MSFT", 5)], [("NVDA", 12), ("AMD", 20), ("INTC", 40)], [("VOO", 8), ("QQQ", 6)],
               [("GOOGL", 15), ("AMZN", 7), ("META", 3)], [("TSLA", 4), ("F", 100)]]


def direct_answer(r, case):
    q, a, tools = case
    c = Conv(r, system_for(r), extra_tools=tools)
    c.user(q)
    c.say(a)
    return c.record(n_distractors=1)


DIRECT_CASES = [("What's the difference between a process and a thread?", "A process is an isolated program instance with its own address space; threads are units of execution inside a process that share its memory. Creating and switching threads is cheaper, but shared memory means threads need synchronisation (locks, atomics) where processes would communicate through pipes, sockets or shared memory explicitly.", ["run_shell", "web_search"]),
                ("Thanks, that's all for today!", "You're welcome! Have a good evening.", ["get_current_weather"]),
                ("How many bytes are in a kibibyte?", "A kibibyte (KiB) is exactly 1024 bytes; a kilobyte (kB) in SI usage is 1000 bytes.", ["calculator", "convert_units"]),
                ("Can you explain what HTTP status 429 means?", "429 Too Many Requests: the server is rate-limiting you. Slow down and retry later; many servers send a `Retry-After` header saying how many seconds to wait.", ["http_request"])]


SCENARIOS_A = [(weather_compare, WEATHER_CASES), (forecast_hike, FORECAST_CASES), (recipe_units, RECIPE_CASES),
               (currency_error, CURRENCY_CASES), (stats_calc, STATS_CASES), (equations, EQUATION_CASES),
               (time_zones, TZ_CASES), (directions, DIRECTIONS_CASES), (meeting_setup, MEETING_CASES),
               (agenda_today, AGENDA_CASES), (email_todos, EMAIL_TODO_CASES), (translate_multi, TRANSLATE_CASES),
               (wiki_question, WIKI_CASES), (travel_plan, TRAVEL_CASES), (shop_refund, REFUND_CASES),
               (crm_email, CRM_CASES), (stock_portfolio, STOCK_CASES), (direct_answer, DIRECT_CASES)]
