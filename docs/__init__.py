"""The guides (Markdown, with their pictures): installed with Weft as the package ``weft_docs``
(``setup.py`` maps this folder to that name), so Help opens them from a wheel or a bundle too;
read them through ``engine.shipped.docs()``."""
