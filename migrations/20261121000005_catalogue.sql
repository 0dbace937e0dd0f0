-- The service catalogue customers choose from (nested categories, services with a code that
-- orders carry as `service_code`), seeded with a sample translation bureau's; and the bot
-- gateway's per-chat turns, which let replicas behind one webhook take a chat's updates one
-- at a time.

CREATE TABLE catalogue_categories (
    id        INT UNSIGNED NOT NULL PRIMARY KEY,
    -- NULL: a top-level category.
    parent_id INT UNSIGNED NULL,
    code      VARCHAR(100) NOT NULL,
    name_uk   VARCHAR(100) NOT NULL,
    name_en   VARCHAR(100) NOT NULL,
    position  SMALLINT     NOT NULL DEFAULT 0,
    active    BOOLEAN      NOT NULL DEFAULT TRUE,
    UNIQUE KEY catalogue_categories_code (code),
    KEY catalogue_categories_parent (parent_id, position),
    CONSTRAINT catalogue_categories_parent_fk FOREIGN KEY (parent_id) REFERENCES catalogue_categories (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE catalogue_services (
    id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- NULL: offered at the top level, beside the categories.
    category_id INT UNSIGNED NULL,
    -- Stable across renames: what `OrderCreated.service_code` and `orders.service_code` hold.
    code        VARCHAR(100) NOT NULL,
    name_uk     VARCHAR(100) NOT NULL,
    name_en     VARCHAR(100) NOT NULL,
    position    SMALLINT     NOT NULL DEFAULT 0,
    active      BOOLEAN      NOT NULL DEFAULT TRUE,
    UNIQUE KEY catalogue_services_code (code),
    KEY catalogue_services_category (category_id, position),
    CONSTRAINT catalogue_services_category_fk FOREIGN KEY (category_id) REFERENCES catalogue_categories (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO catalogue_categories (id, parent_id, code, name_uk, name_en, position) VALUES
    (1, NULL, 'translation',           'Переклад',        'Translation',      10),
    (2, 1,    'translation.documents', 'Документи',       'Documents',        10);

INSERT INTO catalogue_services (id, category_id, code, name_uk, name_en, position) VALUES
    (1,  2,    'translation.passport',          'Паспорт',                'Passport',            10),
    (2,  2,    'translation.diploma',           'Диплом',                 'Diploma',             20),
    (3,  2,    'translation.birth_certificate', 'Свідоцтво про народження', 'Birth certificate', 30),
    (4,  1,    'translation.legal',             'Юридичний переклад',     'Legal translation',   20),
    (5,  1,    'translation.technical',         'Технічний переклад',     'Technical translation', 30),
    (6,  NULL, 'notarisation',                  'Нотаріальне засвідчення', 'Notarisation',       20),
    (7,  NULL, 'apostille',                     'Апостиль',               'Apostille',           30),
    (8,  NULL, 'interpreting',                  'Усний переклад',         'Interpreting',        40);

-- One row per chat a gateway replica is handling an update for. A replica takes the turn
-- when it has expired (or never existed), and gives it back when done; a replica that dies
-- mid-update holds it only until `expires_at`.
CREATE TABLE bot_chat_turns (
    chat_id    BIGINT      NOT NULL PRIMARY KEY,
    holder     BINARY(16)  NOT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
