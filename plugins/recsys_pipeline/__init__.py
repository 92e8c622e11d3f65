"""Airflow-side logic of the ecommerce_recommendations DAG: input checks, Spark submission, the
MySQL schema, loads and publishing. The DAG file only declares tasks; everything here is tested.

Imported as an installed package (``make setup`` installs the project), never as Airflow plugins:
``plugins/.airflowignore`` keeps Airflow's plugin loader from importing these modules by file.
"""
