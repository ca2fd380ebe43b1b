"""Text for the demo event: names from many scripts and offers/needs from several fields, as people write them."""
from __future__ import annotations

TAGS = ["Software", "AI & data", "Design", "Funding", "Hiring", "Research", "Marketing", "Nonprofit",
        "Legal", "Operations", "Hardware", "Health", "Education", "Sales", "Climate"]

#: (first name, last name) pairs; a mix of scripts, accents and a few emoji, as real sign-up forms contain.
NAMES = [
    ("Ana", "García López"), ("José", "Núñez"), ("Zoë", "Müller"), ("François", "Lefèvre"), ("Søren", "Kierkegård"),
    ("Łukasz", "Wiśniewski"), ("Ömer", "Yıldız"), ("Björn", "Åström"), ("Chloé", "Dubois"), ("Mário", "Conceição"),
    ("Dagný", "Þórsdóttir"), ("Nguyễn", "Thị Hương"), ("Mateo", "Ruiz"), ("Inês", "Gonçalves"), ("Jürgen", "Schäfer"),
    ("伟", "王"), ("芳", "李"), ("小明", "陈"), ("さくら", "山田"), ("翔太", "佐藤"), ("陽菜", "鈴木"),
    ("민준", "김"), ("서연", "이"), ("지호", "박"), ("Олег", "Смирнов"), ("Наталья", "Иванова"),
    ("Дмитрий", "Козлов"), ("Γιώργος", "Παπαδόπουλος"), ("Ελένη", "Κωνσταντίνου"), ("محمد", "العلي"),
    ("فاطمة", "الزهراء"), ("يوسف", "حداد"), ("ليلى", "منصور"), ("נועה", "כהן"), ("איתי", "לוי"),
    ("Priya", "Raghunathan"), ("Arjun", "Mehta"), ("अनन्या", "शर्मा"), ("Kwame", "Mensah"), ("Amara", "Okafor"),
    ("Chidi", "Eze"), ("Aisha", "Bello"), ("Tendai", "Moyo"), ("Sipho", "Dlamini"), ("Malia", "Tupou"),
    ("Aroha", "Ngata"), ("Liam", "O'Connor"), ("Siobhán", "Ní Bhriain"), ("Emma", "Johansson"), ("Noah", "Smith"),
    ("Olivia", "Brown"), ("Ethan", "Wright"), ("Mia", "Rossi"), ("Lucas", "Bianchi"), ("Sofia", "Esposito"),
    ("Hana", "Novák"), ("Tomáš", "Dvořák"), ("Eszter", "Kovács"), ("Ioana", "Popescu"), ("Jakub", "Nowak"),
    ("Sam 🚀", "Lee"), ("Maya ✨", "Cohen"), ("Dev", "Patel 🌱"), ("Alex", "Kim"), ("Jordan", "Taylor"),
    ("Camille", "Martin"), ("Yusuf", "Demir"), ("Elif", "Şahin"), ("Rania", "Haddad"), ("Omar", "Farouk"),
    ("Thabo", "Nkosi"), ("Lerato", "Mokoena"), ("Diego", "Fernández"), ("Valentina", "Pérez"), ("Camila", "Rojas"),
    ("Kai", "Nakamura"), ("Ren", "Takahashi"), ("Mei", "Lin"), ("Wei", "Zhang"), ("Hiroshi", "Tanaka"),
]

COMPANIES = ["Brightloop", "Northwind Labs", "Kestrel Health", "Open Food Trust", "Datawell", "Studio Mira",
             "Greenline Energy", "Polaris Ventures", "Helio Robotics", "CivicStack", "Learnwise", "Atlas Legal",
             "Fjord Design", "Quantum Leaf", "Harbor Analytics", "Rivet Hardware", "Tidewater Foundation",
             "Sunbird Media", "Meridian Capital", "Cobalt Security", "University of Leeds", "TU München",
             "Kyoto University", "Freelance", "", ""]

TITLES = ["Founder", "Co-founder & CTO", "Product designer", "Data scientist", "Engineering manager",
          "Investor", "Program officer", "Head of marketing", "Researcher", "PhD student", "Recruiter",
          "Operations lead", "Grant writer", "Hardware engineer", "Community manager", "Lawyer", "Nurse",
          "Teacher", "Sales director", "Climate analyst"]

TICKET_TYPES = ["General", "General", "General", "Speaker", "Sponsor", "Student", "Volunteer"]

#: Offers and needs per field: (text, tags). Needs are phrased as people ask, offers as people describe skills.
FIELDS = {
    "software": {
        "offers": [("Code reviews for Python and Go services", ["Software"]),
                   ("I can help you move a monolith to containers and Kubernetes", ["Software", "Operations"]),
                   ("Pair programming on React front ends", ["Software"]),
                   ("Setting up CI/CD pipelines that developers actually like", ["Software", "Operations"]),
                   ("Database performance tuning (PostgreSQL)", ["Software"]),
                   ("Security review of web apps before launch", ["Software", "Legal"])],
        "needs": [("A mobile developer to build our first iOS app", ["Software", "Hiring"]),
                  ("Advice on scaling our backend past 10k users", ["Software"]),
                  ("Someone who has run Kubernetes in production", ["Software", "Operations"]),
                  ("Help choosing between building and buying our CRM", ["Software", "Sales"])],
    },
    "ai": {
        "offers": [("I build recommendation systems and can look at yours", ["AI & data"]),
                   ("Teaching teams to evaluate LLM features properly", ["AI & data", "Education"]),
                   ("Data cleaning and dashboards in a weekend", ["AI & data"]),
                   ("Computer vision for quality control on factory lines", ["AI & data", "Hardware"])],
        "needs": [("A data scientist to make sense of our survey results", ["AI & data", "Research"]),
                  ("Someone to sanity-check our machine learning roadmap", ["AI & data"]),
                  ("Labelled medical images for a research prototype", ["AI & data", "Health"])],
    },
    "design": {
        "offers": [("UX research: user interviews and usability tests", ["Design", "Research"]),
                   ("Brand identity and logos for early-stage startups", ["Design", "Marketing"]),
                   ("Accessibility audits (WCAG) of websites and apps", ["Design"]),
                   ("Design systems in Figma", ["Design", "Software"])],
        "needs": [("Feedback on our app's onboarding screens", ["Design"]),
                  ("A designer for a two-week landing page sprint", ["Design", "Marketing"]),
                  ("Someone to make our charity's website accessible", ["Design", "Nonprofit"])],
    },
    "funding": {
        "offers": [("I invest in pre-seed climate and health startups", ["Funding", "Climate", "Health"]),
                   ("Pitch deck feedback from a former VC analyst", ["Funding"]),
                   ("Grant writing for EU Horizon and national research calls", ["Funding", "Research"]),
                   ("Introductions to angel networks in Berlin and Lisbon", ["Funding"])],
        "needs": [("Raising a Series A next spring: looking for warm intros to investors", ["Funding"]),
                  ("Someone to review our seed round term sheet", ["Funding", "Legal"]),
                  ("Grant funding for a community literacy project", ["Funding", "Nonprofit", "Education"]),
                  ("Advice on revenue-based financing", ["Funding"])],
    },
    "hiring": {
        "offers": [("I'm hiring backend engineers (remote, EU time zones)", ["Hiring", "Software"]),
                   ("Interview coaching for career changers into tech", ["Hiring", "Education"]),
                   ("Internships for students in data and design", ["Hiring", "Education"]),
                   ("Recruiting for hardware and embedded roles", ["Hiring", "Hardware"])],
        "needs": [("Looking for my next role as a product manager", ["Hiring"]),
                  ("Our first head of sales", ["Hiring", "Sales"]),
                  ("A co-founder with a technical background", ["Hiring", "Software"]),
                  ("Volunteers for our weekend coding club", ["Hiring", "Nonprofit", "Education"])],
    },
    "research": {
        "offers": [("Survey design and statistics for small studies", ["Research", "AI & data"]),
                   ("Access to a wet lab for biotech prototypes", ["Research", "Health"]),
                   ("Literature reviews on climate adaptation", ["Research", "Climate"])],
        "needs": [("Industry partners for a university research project", ["Research"]),
                  ("Participants for a study on remote work", ["Research"]),
                  ("A statistician to check our A/B test results", ["Research", "AI & data"])],
    },
    "marketing": {
        "offers": [("Growth marketing: SEO, content and newsletters", ["Marketing"]),
                   ("I run a podcast and look for guests with good stories", ["Marketing"]),
                   ("Press contacts in tech and science media", ["Marketing"]),
                   ("Community building for open-source projects", ["Marketing", "Software"])],
        "needs": [("Help with our product launch on a tiny budget", ["Marketing"]),
                  ("Someone to explain paid social ads to me", ["Marketing", "Sales"]),
                  ("Speakers for our monthly meetup", ["Marketing", "Education"])],
    },
    "nonprofit": {
        "offers": [("Volunteer management and running events with no budget", ["Nonprofit", "Operations"]),
                   ("Impact measurement for social programmes", ["Nonprofit", "Research"]),
                   ("Pro bono legal advice for charities", ["Nonprofit", "Legal"])],
        "needs": [("Donated laptops for a refugee coding school", ["Nonprofit", "Education", "Hardware"]),
                  ("Board members with finance experience", ["Nonprofit", "Funding"]),
                  ("Partners for a food waste pilot in schools", ["Nonprofit", "Climate"])],
    },
    "operations": {
        "offers": [("Setting up bookkeeping and payroll for small teams", ["Operations"]),
                   ("GDPR compliance checklists and privacy policies", ["Legal", "Operations"]),
                   ("Supply chain contacts for electronics manufacturing", ["Hardware", "Operations"]),
                   ("Sales playbooks for B2B SaaS", ["Sales"])],
        "needs": [("Understanding GDPR for our customer database", ["Legal"]),
                  ("A manufacturer for a small batch of sensor boards", ["Hardware"]),
                  ("Someone to help us price our product", ["Sales", "Funding"]),
                  ("A mentor who has grown a team from 5 to 50", ["Operations", "Hiring"])],
    },
}
