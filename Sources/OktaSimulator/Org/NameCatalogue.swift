/// The material the generator draws from: names in several scripts (with an ASCII form for
/// logins), places, titles, departments, apps, groups and device models.
enum NameCatalogue {
    struct Name {
        let text: String
        let ascii: String
    }

    struct Culture {
        let firstNames: [Name]
        let lastNames: [Name]
        let cities: [(city: String, state: String?, country: String, zone: String, language: String)]
    }

    static func n(_ text: String, _ ascii: String? = nil) -> Name {
        Name(text: text, ascii: ascii ?? text.lowercased())
    }

    static let cultures: [Culture] = [
        Culture(
            firstNames: [
                "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Aaliyah", "Noah",
            ].map { n($0) },
            lastNames: [
                "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "O'Neil", "Nguyen",
            ].map {
                n($0, $0.lowercased().replacingApostrophes())
            },
            cities: [
                ("San Francisco", "CA", "US", "America/Los_Angeles", "en-US"),
                ("New York", "NY", "US", "America/New_York", "en-US"),
                ("Chicago", "IL", "US", "America/Chicago", "en-US"),
                ("Toronto", "ON", "CA", "America/Toronto", "en-CA"),
            ]),
        Culture(
            firstNames: [
                n("Zoë", "zoe"), n("Jürgen", "juergen"), n("Léa", "lea"), n("Søren", "soeren"), n("Björn", "bjoern"),
                n("Inès", "ines"),
            ],
            lastNames: [
                n("Müller", "mueller"), n("Ångström", "angstrom"), n("Dubois"), n("Łukasiewicz", "lukasiewicz"),
                n("Núñez", "nunez"),
            ],
            cities: [
                ("Berlin", nil, "DE", "Europe/Berlin", "de-DE"), ("Paris", nil, "FR", "Europe/Paris", "fr-FR"),
                ("København", nil, "DK", "Europe/Copenhagen", "da-DK"), ("Kraków", nil, "PL", "Europe/Warsaw", "pl-PL"),
            ]),
        Culture(
            firstNames: [n("Дмитрий", "dmitry"), n("Анна", "anna"), n("Ольга", "olga"), n("Сергей", "sergey")],
            lastNames: [n("Иванов", "ivanov"), n("Смирнова", "smirnova"), n("Петров", "petrov")],
            cities: [("Алматы", nil, "KZ", "Asia/Almaty", "ru-KZ")]),
        Culture(
            firstNames: [n("Γιώργος", "giorgos"), n("Ελένη", "eleni")],
            lastNames: [n("Παπαδόπουλος", "papadopoulos"), n("Οικονόμου", "oikonomou")],
            cities: [("Αθήνα", nil, "GR", "Europe/Athens", "el-GR")]),
        Culture(
            firstNames: [n("伟", "wei"), n("芳", "fang"), n("翔太", "shota"), n("さくら", "sakura"), n("민준", "minjun")],
            lastNames: [n("王", "wang"), n("李", "li"), n("佐藤", "sato"), n("김", "kim")],
            cities: [
                ("上海", nil, "CN", "Asia/Shanghai", "zh-CN"), ("東京", nil, "JP", "Asia/Tokyo", "ja-JP"),
                ("서울", nil, "KR", "Asia/Seoul", "ko-KR"),
            ]),
        Culture(
            firstNames: [n("محمد", "mohammed"), n("فاطمة", "fatima"), n("अर्जुन", "arjun"), n("प्रिया", "priya")],
            lastNames: [n("العلي", "alali"), n("शर्मा", "sharma"), n("حداد", "haddad")],
            cities: [("دبي", nil, "AE", "Asia/Dubai", "ar-AE"), ("मुंबई", "MH", "IN", "Asia/Kolkata", "hi-IN")]),
    ]

    /// Share of users drawn from each culture.
    static let cultureWeights = [50, 25, 6, 4, 9, 6]

    static let titles = [
        "Software Engineer", "Senior Software Engineer", "Product Manager", "Account Executive", "IT Administrator",
        "Support Specialist", "Director of Finance", "HR Business Partner", "Data Scientist", "Ingénieure « senior »",
        "Recruiter", "Office Manager",
    ]
    static let departments = [
        "Engineering", "Sales", "Marketing", "Finance", "Human Resources", "IT", "Support", "Legal",
        "Research & Development",
    ]
    static let divisions = ["Americas", "EMEA", "APAC", "Corporate"]
    static let streets = [
        "Main St.", "Brannan St.", "Market Street", "Friedrichstraße", "Rue de Rivoli", "Nørregade", "High Street",
    ]
    static let skills = ["swift", "okta", "sql", "excel", "negotiation", "kubernetes", "design", "accounting"]

    /// The app catalogue: Okta app name and label.
    static let apps: [(name: String, label: String)] = [
        ("office365", "Microsoft Office 365"), ("salesforce", "Salesforce.com"), ("slack", "Slack"), ("zoomus", "Zoom"),
        ("google", "Google Workspace"), ("box", "Box"), ("github_enterprise", "GitHub Enterprise Cloud"),
        ("atlassian", "Jira Software Cloud"), ("servicenow_app2", "ServiceNow UD"), ("workday", "Workday"),
        ("amazon_aws", "AWS Account Federation"), ("docusign", "DocuSign"),
        ("dropbox_for_business", "Dropbox Business"),
        ("tableau_online", "Tableau Online"), ("oidc_client", "Ivanti Neurons"), ("bookmark", "Intranet"),
        ("template_saml_2_0", "Expense Portal"), ("concur", "SAP Concur"),
        ("adobe_creative_cloud", "Adobe Creative Cloud"),
        ("figma", "Figma"), ("zendesk", "Zendesk"), ("hubspot", "HubSpot"), ("okta_org2org", "Partner Org"),
        ("netsuite", "NetSuite"),
    ]

    /// Groups that assign apps: name, description and the catalogue indices of the apps assigned to each.
    static let groups: [(name: String, description: String?, apps: [Int])] = [
        ("All Employees", "Everyone employed by Acme Corporation", [0, 2, 3, 14, 15]),
        ("Engineering", "Engineering department", [6, 7, 19]), ("Sales", "Sales department", [1, 11, 21]),
        ("Finance", nil, [16, 17, 23]), ("IT Admins", "IT administrators", [8, 10, 14]),
        ("Support", "Customer support", [20, 8]), ("Marketing", nil, [18, 21, 13]),
        ("Contractors", "External contractors", [2, 3]), ("EMEA", "Europe, the Middle East and Africa", [4]),
        ("Americas", "North and South America", [5]), ("Design", nil, [19, 18]),
        ("Data", "Data & analytics", [13, 10]),
    ]

    /// The first groups generated besides those that assign apps, with the names real orgs have that
    /// break naive parsing (a comma, quotes, a distinguished name); `directory` is the Active
    /// Directory name of an imported group (`APP_GROUP`). Further groups are `Project Team N`.
    static let generatedGroups: [(name: String, description: String?, directory: String?)] = [
        ("Sales, EMEA", "Sales teams in Europe, the Middle East and Africa", nil),
        ("\"Quoted\" Group", "A name in \"quotes\"", nil),
        ("CN=Domain Users,OU=Groups,DC=corp,DC=example", "All domain users", "Domain Users"),
        ("Remote Workers", nil, nil),
        ("VPN Users", "Imported from Active Directory", "VPN Users"),
        ("Équipe Données – Paris", "L'équipe « données »", nil),
        ("Managers", "People managers", nil),
        ("Interns", nil, nil),
    ]

    /// The generated group that Active Directory's `Domain Users` stands for: most users are in it.
    static let domainUsersGroup = 2

    /// Device models by platform: manufacturer, model, OS versions.
    static let deviceModels: [String: [(manufacturer: String, model: String, os: [String])]] = [
        "IOS": [("APPLE", "iPhone15,4", ["17.5.1", "18.5.0"]), ("APPLE", "iPad13,18", ["17.4", "18.1"])],
        "ANDROID": [("Google", "Pixel 8", ["14", "15"]), ("samsung", "SM-S918B", ["13", "14"])],
        "MACOS": [("APPLE", "MacBookPro18,3", ["14.6.1", "15.1"]), ("APPLE", "Mac14,2", ["13.6.7", "14.5"])],
        "WINDOWS": [
            ("Dell Inc.", "Latitude 7440", ["10.0.19045", "10.0.22631"]), ("LENOVO", "20XW004GUS", ["10.0.22621"]),
        ],
    ]
    static let platforms = ["IOS", "ANDROID", "MACOS", "WINDOWS"]
    static let platformWeights = [30, 20, 25, 25]
}

extension String {
    fileprivate func replacingApostrophes() -> String { String(filter { $0 != "'" }) }
}
