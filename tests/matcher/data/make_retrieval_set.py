"""Write matcher/data/retrieval_set.json: 600 need phrases, each with its one right offer among 2,000 offers.

Made by another method than the eval set (hand-written pairs): a facet grammar. Every offer is one skill for one
kind of organisation ("Search visibility for restaurants and cafés"), so the 2,000 offers are every skill crossed
with every context. A need describes a *problem* of one context in its own words ("We run a small bistro: nobody
finds us when they search online"), never naming the skill; its right offer is the one with the same skill *and*
context. The 49 offers with the same skill for other contexts and the 39 with the same context and another skill
are the hard negatives: many of them are strong candidates, which is where capped scores tie.

Run from the repo root: `python tests/matcher/data/make_retrieval_set.py` (deterministic: seeded).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[3] / "matcher" / "data" / "retrieval_set.json"
SEED = 15
N_NEEDS = 300

# skill: (two ways an expert offers it, three ways someone describes the problem without naming it)
SKILLS = {
    "seo": (["Search engine optimisation", "Getting found on Google"],
            ["nobody finds us when they search online", "we never show up in search results",
             "people searching for what we do land on our competitors"]),
    "bookkeeping": (["Bookkeeping and month-end accounts", "I keep the books and do the VAT returns"],
                    ["our receipts are a shoebox and the tax deadline is close", "I have no idea where the money goes each month",
                     "the accountant keeps asking for numbers I cannot produce"]),
    "fundraising": (["Raising a first investment round", "I help prepare investor pitches and term sheets"],
                    ["we need outside money to grow and have never pitched", "an investor sent a term sheet we do not understand",
                     "the bank said no and we are looking at equity"]),
    "grants": (["Writing public grant applications", "I write funding bids to foundations and councils"],
               ["there is a council scheme we could apply to but the forms defeat us", "we keep missing foundation deadlines",
                "our last three funding bids were rejected"]),
    "branding": (["Logo and visual identity design", "Brand identity: name, logo, colours"],
                 ["our logo looks like it was made in 1998", "nothing we print looks like it comes from the same place",
                  "customers confuse us with the shop down the road"]),
    "web": (["Building websites", "I build and host simple websites"],
            ["our site is broken on phones", "we still have no page on the internet at all",
             "the person who made our site disappeared and nobody can change it"]),
    "ecommerce": (["Setting up online shops", "Online store setup and payments"],
                  ["customers ask if they can order from home and we cannot say yes", "we want to sell our products on the internet",
                   "orders come by phone and email and we lose track"]),
    "social": (["Social media marketing", "I run Instagram and TikTok accounts"],
               ["we post online and nobody reacts", "younger people have never heard of us",
                "we do not know what to put on Instagram"]),
    "photo": (["Product and portrait photography", "Professional photos for your materials"],
              ["our pictures are dark phone snaps", "we need good images for the new brochure",
               "the photos on our site make things look worse than they are"]),
    "video": (["Short video production", "I film and edit promotional videos"],
              ["we want a clip that explains what we do in a minute", "everyone says we should be on YouTube",
               "our story would work much better moving than on paper"]),
    "hiring": (["Recruiting and interviewing", "I help small teams hire their first staff"],
               ["we have to take on people and have never interviewed anyone", "the last two people we took on left within a month",
                "no one answers our job ads"]),
    "employment_law": (["Employment law advice", "Contracts and HR rules for employers"],
                       ["a worker says we dismissed them unfairly", "we have never written a proper work contract",
                        "we are not sure what holiday pay we owe"]),
    "contracts": (["Commercial contract review", "I read and negotiate business contracts"],
                  ["a supplier wants us to sign forty pages", "our terms and conditions were copied from somewhere else",
                   "a client refuses to pay and our agreement is vague"]),
    "privacy": (["Data protection and GDPR compliance", "Privacy policies and data handling"],
                ["we keep customer addresses in a spreadsheet and worry about the rules", "someone asked us to delete everything we hold on them",
                 "our mailing list was built without asking anyone"]),
    "it_security": (["IT security and backups", "Protecting small offices from hackers"],
                    ["our computer was locked and someone wants money to unlock it", "everyone uses the same password",
                     "we would lose everything if the laptop died"]),
    "it_support": (["IT support for small offices", "Setting up computers, printers and Wi-Fi"],
                   ["the Wi-Fi drops every afternoon", "nobody knows how to set up the new laptops",
                    "the printer has not worked for weeks"]),
    "data": (["Data analysis and dashboards", "I turn spreadsheets into reports"],
             ["we collect lots of numbers and never look at them", "I cannot tell which of our products actually make money",
              "the board wants figures every month and it takes me days"]),
    "automation": (["Automating repetitive office work", "Workflow automation with simple tools"],
                   ["we type the same information into three systems", "sending invoices takes a whole day a week",
                    "staff spend hours copying between spreadsheets"]),
    "app": (["Mobile app development", "I build iPhone and Android apps"],
            ["customers keep asking whether we have an app", "we want people to book from their phone",
             "a loyalty card on the phone would suit our regulars"]),
    "ux": (["User experience and usability testing", "I watch real users and fix confusing screens"],
           ["people give up halfway through signing up", "visitors cannot find the booking button",
            "our older customers find the site confusing"]),
    "copywriting": (["Copywriting and editing", "I write clear texts for leaflets and websites"],
                    ["our website text is long and boring", "nobody reads our newsletter past the first line",
                     "we cannot explain in two sentences what we do"]),
    "translation": (["Translation and localisation", "I translate materials into Spanish, French and German"],
                    ["more and more visitors do not speak our language", "we want to reach customers abroad",
                     "our menu and signs only exist in one language"]),
    "pr": (["Press relations", "Getting stories into local newspapers and radio"],
           ["we did something great and no journalist noticed", "we want to be on the local radio",
            "how do we get the paper to write about our anniversary"]),
    "events": (["Event planning and logistics", "I organise launches, fairs and open days"],
               ["we want an open day and do not know where to start", "our last launch party was chaos",
                "we have to host two hundred guests next spring"]),
    "pricing": (["Pricing strategy", "Working out what to charge"],
                ["we are busy all the time and still barely break even", "competitors charge double and we do not know if we should",
                 "we never dared to raise what we charge"]),
    "cashflow": (["Cash flow planning", "Forecasting money in and out"],
                 ["we run out of money at the end of every quarter", "big clients pay after ninety days and we struggle",
                  "I never know whether we can afford the next purchase"]),
    "sales": (["Sales training and prospecting", "I coach teams to win new clients"],
              ["we depend on two customers and need more", "we are good at the work and bad at finding the work",
               "nobody on the team likes calling people"]),
    "customer_service": (["Customer service training", "Handling complaints and reviews"],
                         ["we got three angry reviews this month", "staff do not know what to say to unhappy customers",
                          "people leave and never tell us why"]),
    "leadership": (["Leadership coaching for managers", "Coaching new team leads"],
                   ["I was promoted and now manage my former colleagues", "the team argues and I do not know how to step in",
                    "I do everything myself because I cannot let go"]),
    "wellbeing": (["Workplace wellbeing and burnout prevention", "Stress and mental health programmes for staff"],
                  ["half the team is exhausted", "two people are off sick with stress",
                   "people work late every night and it shows"]),
    "interior": (["Interior design and shop fitting", "Designing rooms customers like to stay in"],
                 ["the place feels cold and nobody lingers", "we are moving into an empty space and need it to look good",
                  "our waiting area is cramped and ugly"]),
    "energy": (["Energy saving audits", "Cutting heating and electricity bills"],
               ["the electricity bill doubled this winter", "the building is freezing and heating costs a fortune",
                "we want to use less power but do not know where it goes"]),
    "solar": (["Solar panel installation", "Rooftop solar and batteries"],
              ["we have a big sunny roof doing nothing", "we want to make our own power",
               "we looked at panels but the quotes made no sense to us"]),
    "logistics": (["Delivery and logistics planning", "Shipping, couriers and stock"],
                  ["parcels go missing and customers are furious", "the storeroom is always either empty or overflowing",
                   "shipping costs eat our margin"]),
    "food_safety": (["Food hygiene and safety certification", "Preparing kitchens for hygiene inspections"],
                    ["the inspector is coming next month and we are nervous", "we want to sell our jam in shops and need the paperwork",
                     "we were told our storage temperatures are wrong"]),
    "accessibility": (["Accessibility audits", "Making places and websites usable for disabled people"],
                      ["a wheelchair user could not get in last week", "a blind visitor told us our site is unusable for them",
                       "we want everyone to be able to take part"]),
    "volunteers": (["Recruiting and managing volunteers", "Building a volunteer programme"],
                   ["we rely on three people who are worn out", "lots of people sign up to help and then vanish",
                    "we want neighbours to give a few hours a month"]),
    "community": (["Community engagement and consultation", "Running neighbourhood workshops"],
                  ["locals oppose our plans and we never talked to them", "we want residents to shape the project",
                   "our meetings are attended by the same five people"]),
    "succession": (["Business succession and selling a company", "Planning handover to the next owner"],
                   ["I want to retire and nobody will take over", "my children do not want to run the business",
                    "someone offered to buy us and I do not know what we are worth"]),
    "export": (["Export and customs advice", "Selling abroad: customs, duties and paperwork"],
               ["a buyer overseas wants our goods and we have never shipped abroad", "our parcels get stuck at the border",
                "we do not understand the import duties"]),
}

# skill: how a need card names it when the person knows what they want ("direct" needs)
ASKS = {
    "seo": "help with SEO", "bookkeeping": "a bookkeeper", "fundraising": "advice on raising investment",
    "grants": "help writing grant applications", "branding": "a designer for a new logo", "web": "someone to build a website",
    "ecommerce": "help setting up an online shop", "social": "help with social media", "photo": "a photographer",
    "video": "someone to make a video", "hiring": "help recruiting staff", "employment_law": "an employment lawyer",
    "contracts": "a lawyer to review a contract", "privacy": "GDPR advice", "it_security": "advice on cyber security",
    "it_support": "IT support", "data": "someone to analyse our data", "automation": "help automating admin work",
    "app": "an app developer", "ux": "a UX designer", "copywriting": "a copywriter", "translation": "a translator",
    "pr": "press coverage", "events": "an event planner", "pricing": "advice on pricing",
    "cashflow": "help with cash flow", "sales": "sales coaching", "customer_service": "customer service training",
    "leadership": "a leadership coach", "wellbeing": "help with staff burnout", "interior": "an interior designer",
    "energy": "an energy audit", "solar": "solar panels", "logistics": "help with shipping and stock",
    "food_safety": "food hygiene certification", "accessibility": "an accessibility audit",
    "volunteers": "more volunteers", "community": "help engaging the community",
    "succession": "advice on selling the business", "export": "export advice",
}

# context: (how an offer names it, two ways a need says it is theirs)
CONTEXTS = {
    "restaurant": ("for restaurants and cafés", ["We run a small bistro", "I own a neighbourhood café"]),
    "bakery": ("for bakeries", ["We are a family bakery", "I bake bread and pastries for the village"]),
    "brewery": ("for craft breweries", ["We brew beer in a converted barn", "Our microbrewery is two years old"]),
    "winery": ("for vineyards and wine makers", ["We make wine on a few hectares", "Our family grows grapes"]),
    "farm": ("for farms", ["We farm cattle and grain", "I run a dairy farm"]),
    "market_garden": ("for organic growers", ["We grow vegetables for a box scheme", "Our market garden sells at the Saturday market"]),
    "florist": ("for florists", ["I sell flowers from a small shop", "We make wedding bouquets"]),
    "bookshop": ("for independent bookshops", ["We are an independent bookseller", "I run a second-hand book store"]),
    "fashion": ("for clothing boutiques", ["I own a clothes boutique", "We design and sell our own dresses"]),
    "jeweller": ("for jewellers", ["I make rings and necklaces by hand", "Our jewellery workshop"]),
    "hairdresser": ("for hair salons", ["I run a hair salon", "Our barbershop has four chairs"]),
    "gym": ("for gyms and fitness studios", ["We run a yoga studio", "Our fitness club"]),
    "physio": ("for physiotherapy practices", ["I am a physiotherapist with my own practice", "Our sports injury clinic"]),
    "dentist": ("for dental practices", ["We are a dental surgery", "I own a dentist's practice"]),
    "vet": ("for veterinary clinics", ["We run a vet clinic", "I treat cats and dogs in a small practice"]),
    "care_home": ("for care homes", ["We run a residential home for older people", "Our nursing home"]),
    "nursery": ("for nurseries and childcare", ["We run a day nursery", "I look after toddlers in our childcare centre"]),
    "school": ("for schools", ["I am head of a primary school", "Our secondary school"]),
    "language_school": ("for language schools", ["We teach English to adults", "Our language school"]),
    "music_school": ("for music teachers and schools", ["I teach piano and guitar", "Our music school"]),
    "theatre": ("for theatres", ["We are a small theatre company", "Our playhouse"]),
    "museum": ("for museums and galleries", ["We are a local history museum", "I run an art gallery"]),
    "library": ("for libraries", ["Our public library", "I manage a village library"]),
    "hotel": ("for hotels and B&Bs", ["We run a bed and breakfast", "Our small hotel by the sea"]),
    "campsite": ("for campsites", ["We own a campsite", "Our holiday park with caravans"]),
    "tour": ("for tour operators", ["We organise walking holidays", "I guide city tours"]),
    "taxi": ("for taxi and transport firms", ["We run a taxi firm", "Our minibus company"]),
    "garage": ("for car garages", ["We repair cars", "I own a garage and MOT station"]),
    "bike": ("for bike shops", ["We sell and fix bicycles", "Our cycle shop"]),
    "builder": ("for builders and tradespeople", ["I am a builder with five workers", "We are plumbers and electricians"]),
    "architect": ("for architecture practices", ["We are a small architecture studio", "I design houses"]),
    "estate_agent": ("for estate agents", ["We sell and let houses", "Our letting agency"]),
    "cleaning": ("for cleaning companies", ["We clean offices at night", "Our cleaning business"]),
    "printing": ("for print shops", ["We print flyers and posters", "Our print shop"]),
    "software": ("for software startups", ["We are a three-person software startup", "I founded a SaaS company"]),
    "consultancy": ("for consultancies", ["We are a management consultancy", "I consult on my own"]),
    "law_firm": ("for law firms", ["We are a small law firm", "I am a solicitor with two partners"]),
    "accountancy": ("for accountancy practices", ["We are a firm of accountants", "I do people's tax returns"]),
    "charity": ("for charities", ["We are a small charity", "Our foundation helps homeless people"]),
    "sports_club": ("for sports clubs", ["We are an amateur football club", "Our rowing club"]),
    "church": ("for churches and faith groups", ["Our parish church", "We run a mosque community centre"]),
    "coworking": ("for coworking spaces", ["We run a shared office space", "Our coworking hub"]),
    "makerspace": ("for makerspaces and workshops", ["We run a community workshop with tools", "Our makerspace"]),
    "pharmacy": ("for pharmacies", ["We are an independent pharmacy", "I own a chemist's shop"]),
    "optician": ("for opticians", ["We sell glasses and test eyes", "Our optician's shop"]),
    "pet_shop": ("for pet shops and groomers", ["We groom dogs", "I own a pet supplies shop"]),
    "furniture": ("for furniture makers", ["I build tables and chairs", "Our furniture workshop"]),
    "pottery": ("for potters and ceramicists", ["I make pottery", "Our ceramics studio"]),
    "newspaper": ("for local newspapers and magazines", ["We publish a local magazine", "Our town newspaper"]),
    "cooperative": ("for cooperatives", ["We are a worker cooperative", "Our food co-op"]),
}


def build() -> dict:
    rng = random.Random(SEED)
    skills, contexts = list(SKILLS), list(CONTEXTS)
    offers, index = [], {}
    for s in skills:
        for c in contexts:
            index[(s, c)] = len(offers)
            offers.append(f"{rng.choice(SKILLS[s][0])} {CONTEXTS[c][0]}")
    combos = rng.sample(sorted(index), N_NEEDS)
    needs = []
    for s, c in combos:
        text = f"{rng.choice(CONTEXTS[c][1])}: {rng.choice(SKILLS[s][1])}"
        needs.append([text, [index[(s, c)]], "problem"])
    for s, c in rng.sample(sorted(index), N_NEEDS):
        text = f"{rng.choice(CONTEXTS[c][1])}: looking for {ASKS[s]}"
        needs.append([text, [index[(s, c)]], "direct"])
    about = ("Generated by tests/matcher/data/make_retrieval_set.py, a facet grammar: every skill for every context "
             "is one offer; a need's right offer has its skill and context. The first half of the needs describe a "
             "problem without naming the skill (kind 'problem'); the second half name what they look for (kind "
             "'direct': 'We run a small bistro: looking for help with SEO'), where many same-skill offers are strong "
             f"candidates. {len(needs)} needs, {len(offers)} offers, seed {SEED}.")
    return {"about": about, "offers": offers, "needs": needs}


if __name__ == "__main__":
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(data['needs'])} needs, {len(data['offers'])} offers")
