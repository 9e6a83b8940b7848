"""The CSS the report's first page brings with it into Snakemake's report."""

# Snakemake's report shows this page in a box that centres its content (Tailwind's
# items-center justify-center in an h-screen flex box): a page taller or wider than the
# window then starts above and left of its edges, where no scrolling reaches. The page
# brings its own rules: start at the top left, let the rule graph wrap below the text, and
# on a phone put the page before the menu rather than beside it.
TOP_OF_PAGE_STYLE = """\
.. raw:: html

   <style>
   div.h-screen.items-center.justify-center { align-items: flex-start; justify-content: flex-start; }
   div.grow.flex.gap-3.p-3.items-start { flex-wrap: wrap; min-width: 0; }
   div.grow.flex.gap-3.p-3.items-start > div { min-width: 0; max-width: 100%; }
   div.document table.docutils { display: block; max-width: 100%; overflow-x: auto; }
   div.document table.docutils :is(td, th) { min-width: 8em; }
   @media (max-width: 640px) {
     div.flex.flex-row.w-screen.h-screen { flex-direction: column-reverse; justify-content: flex-end; width: 100%; height: auto; }
     div.flex.flex-row.w-screen.h-screen > nav { width: 100%; height: auto; }
   }
   </style>"""
